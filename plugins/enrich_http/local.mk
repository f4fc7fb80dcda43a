# plugins/enrich_http: asks a JSON HTTP API about a lead (libcurl on the host's loop; OpenSSL for POST cache keys).
pkglib_LTLIBRARIES += %D%/enrich_http.la
%C%_enrich_http_la_SOURCES = %D%/enrich_http.c %D%/ehttp_conf.c %D%/ehttp_conf.h \
	%D%/ehttp_reply.c %D%/ehttp_reply.h %D%/ehttp_text.c %D%/ehttp_text.h
%C%_enrich_http_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
%C%_enrich_http_la_LDFLAGS = $(PLUGIN_MODULE_FLAGS)
%C%_enrich_http_la_LIBADD = $(CURL_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS)
EXTRA_DIST += %D%/README.md
