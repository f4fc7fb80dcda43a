# plugins/example_channel: the documented skeleton channel (see docs/plugin-guide.md).
pkglib_LTLIBRARIES += %D%/example_channel.la
%C%_example_channel_la_SOURCES = %D%/example_channel.c
%C%_example_channel_la_LDFLAGS = $(PLUGIN_MODULE_FLAGS)
