drumbeatincludedir = $(includedir)/drumbeat
drumbeatinclude_HEADERS = %D%/drumbeat/plugin.h %D%/drumbeat/version.h
