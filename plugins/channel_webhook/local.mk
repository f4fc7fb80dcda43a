# plugins/channel_webhook: POSTs touches and event notifications as signed JSON (libcurl, OpenSSL).
pkglib_LTLIBRARIES += %D%/channel_webhook.la
%C%_channel_webhook_la_SOURCES = %D%/webhook.c %D%/webhook_conf.c %D%/webhook_conf.h \
	%D%/webhook_sign.c %D%/webhook_sign.h
%C%_channel_webhook_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(OPENSSL_CFLAGS)
%C%_channel_webhook_la_LDFLAGS = $(PLUGIN_MODULE_FLAGS)
%C%_channel_webhook_la_LIBADD = $(CURL_LIBS) $(OPENSSL_LIBS)
