# plugins/channel_null: accepts every message, discards it, reports DONE (benchmarks, tests).
pkglib_LTLIBRARIES += %D%/channel_null.la
%C%_channel_null_la_SOURCES = %D%/channel_null.c
%C%_channel_null_la_LDFLAGS = $(PLUGIN_MODULE_FLAGS)
