# daemon/: libcore (every module but main.c), drumbeatd and the drumbeat CLI.
noinst_LTLIBRARIES += %D%/libcore.la
CORE_DEP_CFLAGS = $(UV_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) $(SQLITE_CFLAGS) \
	$(GMIME_CFLAGS) $(CARES_CFLAGS) $(MHD_CFLAGS) $(OPENSSL_CFLAGS) $(ESMTP_CFLAGS)
CORE_DEP_LIBS = $(UV_LIBS) $(JANSSON_LIBS) $(CURL_LIBS) $(SQLITE_LIBS) \
	$(GMIME_LIBS) $(CARES_LIBS) $(MHD_LIBS) $(OPENSSL_LIBS) $(ESMTP_LIBS) $(CSV_LIBS) \
	$(PTHREAD_LIBS) $(LIBS)
%C%_libcore_la_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS)
%C%_libcore_la_LIBADD = $(CORE_DEP_LIBS)
%C%_libcore_la_SOURCES = \
	%D%/errors.c %D%/errors.h \
	%D%/log.c %D%/log.h \
	%D%/clock.c %D%/clock.h \
	%D%/touch_state.c %D%/touch_state.h
# -- config (config.c and friends) --
# -- store (store_sqlite*.c) --
# -- plugins (plugin_loader*.c, host_api.c, curl_loop.c) --
# -- http (http*.c, api_*.c, metrics.c) --
# -- daemon core (daemon.c, dispatch.c, ...) --

sbin_PROGRAMS += %D%/drumbeatd
%C%_drumbeatd_SOURCES = %D%/main.c
%C%_drumbeatd_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS)
%C%_drumbeatd_LDADD = %D%/libcore.la $(CORE_DEP_LIBS)

bin_PROGRAMS += %D%/drumbeat
%C%_drumbeat_SOURCES = %D%/cli/drumbeat.c %D%/cli/cli.h %D%/cli/cli_util.c
# -- cli commands (cli_*.c) --
%C%_drumbeat_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS)
%C%_drumbeat_LDADD = %D%/libcore.la $(CORE_DEP_LIBS)
