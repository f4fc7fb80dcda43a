# plugins/channel_smtp: the SMTP channel (libesmtp on the threadpool).
# -z nodelete: libesmtp keeps its error state in a pthread key whose
# destructor runs when a threadpool thread exits; if dlclose() unmapped
# libesmtp first, that destructor would jump into freed code at shutdown.
pkglib_LTLIBRARIES += %D%/channel_smtp.la
%C%_channel_smtp_la_SOURCES = %D%/smtp.c %D%/smtp_conf.c %D%/smtp_conf.h \
	%D%/smtp_session.c %D%/smtp_session.h %D%/smtp_classify.c %D%/smtp_classify.h \
	%D%/smtp_tls_ctx.c %D%/smtp_tls_relay.c %D%/smtp_tls_relay.h \
	%D%/smtp_loopback_peer.c %D%/smtp_loopback_peer.h
%C%_channel_smtp_la_CFLAGS = $(AM_CFLAGS) $(ESMTP_CFLAGS) $(OPENSSL_CFLAGS)
%C%_channel_smtp_la_LDFLAGS = $(PLUGIN_MODULE_FLAGS) -Wl,-z,nodelete
%C%_channel_smtp_la_LIBADD = $(ESMTP_LIBS) $(OPENSSL_LIBS) $(PTHREAD_LIBS)
