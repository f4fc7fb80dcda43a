# plugins/channel_maildir: writes each message as a file in a Maildir (dry runs, demos).
pkglib_LTLIBRARIES += %D%/channel_maildir.la
%C%_channel_maildir_la_SOURCES = %D%/maildir.c %D%/maildir_write.c %D%/maildir_write.h
%C%_channel_maildir_la_LDFLAGS = $(PLUGIN_MODULE_FLAGS)
