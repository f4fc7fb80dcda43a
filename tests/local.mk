# tests/: TAP programs run by make check through automake's TAP driver.
check_LTLIBRARIES += %D%/libtap.la
%C%_libtap_la_SOURCES = %D%/tap.c %D%/tap.h
TEST_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS) -I$(top_srcdir)/tests
TEST_LDADD = %D%/libtap.la daemon/libcore.la $(CORE_DEP_LIBS)

check_PROGRAMS += %D%/unit/t_errors
%C%_unit_t_errors_SOURCES = %D%/unit/t_errors.c
%C%_unit_t_errors_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_errors_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/unit/t_id_set
%C%_unit_t_id_set_SOURCES = %D%/unit/t_id_set.c
%C%_unit_t_id_set_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_id_set_LDADD = $(TEST_LDADD)
# -- config tests --
check_PROGRAMS += %D%/unit/t_config
%C%_unit_t_config_SOURCES = %D%/unit/t_config.c
%C%_unit_t_config_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_config_LDADD = $(TEST_LDADD)
# -- store tests --
check_PROGRAMS += %D%/unit/t_store %D%/unit/t_store_touch %D%/unit/t_store_sends \
	%D%/unit/t_store_counts
%C%_unit_t_store_SOURCES = %D%/unit/t_store.c %D%/unit/store_test_util.h
%C%_unit_t_store_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_store_LDADD = $(TEST_LDADD)
%C%_unit_t_store_touch_SOURCES = %D%/unit/t_store_touch.c %D%/unit/store_test_util.h
%C%_unit_t_store_touch_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_store_touch_LDADD = $(TEST_LDADD)
%C%_unit_t_store_sends_SOURCES = %D%/unit/t_store_sends.c %D%/unit/store_test_util.h
%C%_unit_t_store_counts_SOURCES = %D%/unit/t_store_counts.c %D%/unit/store_test_util.h
%C%_unit_t_store_counts_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_store_counts_LDADD = $(TEST_LDADD)
%C%_unit_t_store_sends_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_store_sends_LDADD = $(TEST_LDADD)
# -- plugin tests --
# Deliberately bad plugins: real .so files (hence -rpath), never installed.
TEST_PLUGIN_FLAGS = -module -avoid-version -shared -export-symbols-regex '^drumbeat_plugin$$' \
	-rpath /nowhere
# automake's DEFAULT_INCLUDES puts build-aux/ (autoconf's config.h) first;
# -iquote makes "config.h" mean daemon/config.h in these tests.
PLUGIN_TEST_CPPFLAGS = -iquote $(top_srcdir)/daemon
check_LTLIBRARIES += %D%/plugins/bad_magic.la %D%/plugins/abi_major_2.la \
	%D%/plugins/abi_minor_99.la %D%/plugins/short_size.la %D%/plugins/init_fails.la \
	%D%/plugins/no_symbol.la %D%/plugins/sync_done.la %D%/plugins/opts_channel.la
%C%_plugins_bad_magic_la_SOURCES = %D%/plugins/bad_magic.c
%C%_plugins_bad_magic_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
%C%_plugins_abi_major_2_la_SOURCES = %D%/plugins/abi_major_2.c
%C%_plugins_abi_major_2_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
%C%_plugins_abi_minor_99_la_SOURCES = %D%/plugins/abi_minor_99.c
%C%_plugins_abi_minor_99_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
%C%_plugins_short_size_la_SOURCES = %D%/plugins/short_size.c
%C%_plugins_short_size_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
%C%_plugins_init_fails_la_SOURCES = %D%/plugins/init_fails.c
%C%_plugins_init_fails_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
%C%_plugins_no_symbol_la_SOURCES = %D%/plugins/no_symbol.c
# No export list here: with nothing matching it the linker's version script
# would be empty, which ld rejects.
%C%_plugins_no_symbol_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
%C%_plugins_sync_done_la_SOURCES = %D%/plugins/sync_done.c
%C%_plugins_sync_done_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
%C%_plugins_opts_channel_la_SOURCES = %D%/plugins/opts_channel.c
%C%_plugins_opts_channel_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)

check_PROGRAMS += %D%/plugins/t_plugin_loader
%C%_plugins_t_plugin_loader_SOURCES = %D%/plugins/t_plugin_loader.c %D%/plugins/plugin_test_util.c \
	%D%/plugins/plugin_test_util.h
%C%_plugins_t_plugin_loader_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_plugin_loader_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_plugins_t_plugin_loader_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/plugins/t_example_channel
%C%_plugins_t_example_channel_SOURCES = %D%/plugins/t_example_channel.c \
	%D%/plugins/plugin_test_util.c %D%/plugins/plugin_test_util.h
%C%_plugins_t_example_channel_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_example_channel_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_plugins_t_example_channel_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/unit/t_curl_loop
%C%_unit_t_curl_loop_SOURCES = %D%/unit/t_curl_loop.c
%C%_unit_t_curl_loop_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_curl_loop_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_unit_t_curl_loop_LDADD = $(TEST_LDADD)
# -- http tests --
check_PROGRAMS += %D%/unit/t_http
%C%_unit_t_http_SOURCES = %D%/unit/t_http.c
%C%_unit_t_http_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_http_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/unit/t_api_status
%C%_unit_t_api_status_SOURCES = %D%/unit/t_api_status.c
%C%_unit_t_api_status_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_api_status_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/unit/t_compose
%C%_unit_t_compose_SOURCES = %D%/unit/t_compose.c %D%/gmime_oracle.h
%C%_unit_t_compose_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_compose_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/unit/t_compose_fast
%C%_unit_t_compose_fast_SOURCES = %D%/unit/t_compose_fast.c
%C%_unit_t_compose_fast_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_compose_fast_LDADD = $(TEST_LDADD)
# -- import tests --
check_PROGRAMS += %D%/unit/t_csv_spectrum
%C%_unit_t_csv_spectrum_SOURCES = %D%/unit/t_csv_spectrum.c
%C%_unit_t_csv_spectrum_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_csv_spectrum_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/unit/t_email_addr
%C%_unit_t_email_addr_SOURCES = %D%/unit/t_email_addr.c
%C%_unit_t_email_addr_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_email_addr_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/unit/t_import
%C%_unit_t_import_SOURCES = %D%/unit/t_import.c %D%/unit/store_test_util.h
%C%_unit_t_import_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_import_LDADD = $(TEST_LDADD)
# -- template tests --
check_PROGRAMS += %D%/unit/t_mustache_spec
%C%_unit_t_mustache_spec_SOURCES = %D%/unit/t_mustache_spec.c
%C%_unit_t_mustache_spec_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_mustache_spec_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/unit/t_template
%C%_unit_t_template_SOURCES = %D%/unit/t_template.c
%C%_unit_t_template_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_template_LDADD = $(TEST_LDADD)
# -- templates/compose tests --
check_PROGRAMS += %D%/unit/t_unsub_token %D%/unit/t_template_file %D%/unit/t_compose_parse
%C%_unit_t_unsub_token_SOURCES = %D%/unit/t_unsub_token.c
%C%_unit_t_unsub_token_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_unsub_token_LDADD = $(TEST_LDADD)
%C%_unit_t_template_file_SOURCES = %D%/unit/t_template_file.c
%C%_unit_t_template_file_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_template_file_LDADD = $(TEST_LDADD)
%C%_unit_t_compose_parse_SOURCES = %D%/unit/t_compose_parse.c
%C%_unit_t_compose_parse_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_compose_parse_LDADD = $(TEST_LDADD)
# -- channels/webhook (plugins/channel_webhook, notifications) --
check_PROGRAMS += %D%/plugins/t_channel_webhook
%C%_plugins_t_channel_webhook_SOURCES = %D%/plugins/t_channel_webhook.c \
	%D%/plugins/plugin_test_util.c %D%/plugins/plugin_test_util.h
%C%_plugins_t_channel_webhook_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_channel_webhook_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_plugins_t_channel_webhook_LDADD = $(TEST_LDADD)
# -- channels/smtp (plugins/channel_smtp) --
check_PROGRAMS += %D%/plugins/t_smtp_classify %D%/plugins/t_channel_smtp
%C%_plugins_t_smtp_classify_SOURCES = %D%/plugins/t_smtp_classify.c \
	plugins/channel_smtp/smtp_classify.c plugins/channel_smtp/smtp_classify.h
%C%_plugins_t_smtp_classify_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_smtp_classify_LDADD = $(TEST_LDADD)
%C%_plugins_t_channel_smtp_SOURCES = %D%/plugins/t_channel_smtp.c \
	%D%/plugins/plugin_test_util.c %D%/plugins/plugin_test_util.h
%C%_plugins_t_channel_smtp_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_channel_smtp_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_plugins_t_channel_smtp_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/plugins/t_smtp_loopback_peer
%C%_plugins_t_smtp_loopback_peer_SOURCES = %D%/plugins/t_smtp_loopback_peer.c \
	plugins/channel_smtp/smtp_loopback_peer.c plugins/channel_smtp/smtp_loopback_peer.h
%C%_plugins_t_smtp_loopback_peer_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_smtp_loopback_peer_LDADD = $(TEST_LDADD)
# -- preflight tests (dns.c against dnsmasq, preflight decisions) --
check_PROGRAMS += %D%/unit/t_preflight %D%/unit/t_dns
%C%_unit_t_preflight_SOURCES = %D%/unit/t_preflight.c
%C%_unit_t_preflight_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_preflight_LDADD = $(TEST_LDADD)
%C%_unit_t_dns_SOURCES = %D%/unit/t_dns.c
%C%_unit_t_dns_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_dns_LDADD = $(TEST_LDADD)
# -- leads management (store_admin, api_lead_admin) --
check_PROGRAMS += %D%/unit/t_lead_admin
%C%_unit_t_lead_admin_SOURCES = %D%/unit/t_lead_admin.c %D%/unit/store_test_util.h
%C%_unit_t_lead_admin_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_lead_admin_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/unit/t_lead_batch
%C%_unit_t_lead_batch_SOURCES = %D%/unit/t_lead_batch.c %D%/unit/store_test_util.h
%C%_unit_t_lead_batch_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_lead_batch_LDADD = $(TEST_LDADD)

# -- icp tests (ideal customer profile: scoring, config, store) --
check_PROGRAMS += %D%/unit/t_icp
%C%_unit_t_icp_SOURCES = %D%/unit/t_icp.c %D%/unit/store_test_util.h
%C%_unit_t_icp_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_icp_LDADD = $(TEST_LDADD)
# -- enrich_mx tests (DNS TTL parsing; the plugin and host dns_query against dnsmasq) --
check_PROGRAMS += %D%/unit/t_dns_ttl %D%/plugins/t_enrich_mx
%C%_unit_t_dns_ttl_SOURCES = %D%/unit/t_dns_ttl.c
%C%_unit_t_dns_ttl_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_dns_ttl_LDADD = $(TEST_LDADD)
%C%_plugins_t_enrich_mx_SOURCES = %D%/plugins/t_enrich_mx.c \
	%D%/plugins/plugin_test_util.c %D%/plugins/plugin_test_util.h
%C%_plugins_t_enrich_mx_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_enrich_mx_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_plugins_t_enrich_mx_LDADD = $(TEST_LDADD)
# -- window/holidays (cadences) --
check_PROGRAMS += %D%/unit/t_window %D%/unit/t_holidays
%C%_unit_t_window_SOURCES = %D%/unit/t_window.c
%C%_unit_t_window_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_window_LDADD = $(TEST_LDADD)
%C%_unit_t_holidays_SOURCES = %D%/unit/t_holidays.c
%C%_unit_t_holidays_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_holidays_LDADD = $(TEST_LDADD)
# -- enrich_http --
check_PROGRAMS += %D%/plugins/t_enrich_http
%C%_plugins_t_enrich_http_SOURCES = %D%/plugins/t_enrich_http.c \
	%D%/plugins/plugin_test_util.c %D%/plugins/plugin_test_util.h
%C%_plugins_t_enrich_http_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_enrich_http_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_plugins_t_enrich_http_LDADD = $(TEST_LDADD)
# -- enrich_csv / enrich_guess --
check_PROGRAMS += %D%/plugins/t_enrich_csv %D%/plugins/t_enrich_guess
%C%_plugins_t_enrich_csv_SOURCES = %D%/plugins/t_enrich_csv.c \
	%D%/plugins/plugin_test_util.c %D%/plugins/plugin_test_util.h
%C%_plugins_t_enrich_csv_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_enrich_csv_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_plugins_t_enrich_csv_LDADD = $(TEST_LDADD)
%C%_plugins_t_enrich_guess_SOURCES = %D%/plugins/t_enrich_guess.c \
	%D%/plugins/plugin_test_util.c %D%/plugins/plugin_test_util.h
%C%_plugins_t_enrich_guess_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_enrich_guess_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_plugins_t_enrich_guess_LDADD = $(TEST_LDADD)
# -- channel_maildir --
check_PROGRAMS += %D%/plugins/t_channel_maildir
%C%_plugins_t_channel_maildir_SOURCES = %D%/plugins/t_channel_maildir.c \
	%D%/plugins/plugin_test_util.c %D%/plugins/plugin_test_util.h
%C%_plugins_t_channel_maildir_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_channel_maildir_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_plugins_t_channel_maildir_LDADD = $(TEST_LDADD)
# -- channel_null (bench) --
check_PROGRAMS += %D%/plugins/t_channel_null
%C%_plugins_t_channel_null_SOURCES = %D%/plugins/t_channel_null.c \
	%D%/plugins/plugin_test_util.c %D%/plugins/plugin_test_util.h
%C%_plugins_t_channel_null_CFLAGS = $(TEST_CFLAGS)
%C%_plugins_t_channel_null_CPPFLAGS = $(AM_CPPFLAGS) $(PLUGIN_TEST_CPPFLAGS)
%C%_plugins_t_channel_null_LDADD = $(TEST_LDADD)
# -- enrolling (store side; bench) --
check_PROGRAMS += %D%/unit/t_enroll_store
%C%_unit_t_enroll_store_SOURCES = %D%/unit/t_enroll_store.c %D%/unit/store_test_util.h
%C%_unit_t_enroll_store_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_enroll_store_LDADD = $(TEST_LDADD)
# -- cadence definitions --
check_PROGRAMS += %D%/unit/t_cadence_def
%C%_unit_t_cadence_def_SOURCES = %D%/unit/t_cadence_def.c
%C%_unit_t_cadence_def_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_cadence_def_LDADD = $(TEST_LDADD)
# -- end-to-end tests --
E2E_TESTS = %D%/integration/t_daemon_basics.sh %D%/integration/t_daemon_send.sh \
	%D%/integration/t_daemon_bad_input.sh %D%/integration/t_daemon_crash.sh \
	%D%/integration/t_render_message.sh
# (templates) drumbeat render
E2E_TESTS += %D%/integration/t_render.sh
# (channels/smtp) drumbeat send through channel_smtp to aiosmtpd
E2E_TESTS += %D%/integration/t_smtp_send.sh
E2E_TESTS += %D%/integration/t_smtp_sessions.sh
# (channels/smtp) tls "implicit" (SMTPS) through the loopback TLS relay
E2E_TESTS += %D%/integration/t_smtp_implicit_tls.sh
# (import) drumbeat import, re-import, crash mid-import
E2E_TESTS += %D%/integration/t_import.sh
# (channels/webhook) webhook channel and event notifications
E2E_TESTS += %D%/integration/t_webhook.sh
# (preflight) drumbeat mailbox check against dnsmasq
E2E_TESTS += %D%/integration/t_mailbox_check.sh
# (icp) scoring on import, readiness to prospecting, rescoring on SIGHUP
E2E_TESTS += %D%/integration/t_icp.sh
# (leads) leads list, lead by email, suppress/unsuppress, forget, export-lead
E2E_TESTS += %D%/integration/t_leads.sh
# (enrichment) the waterfall with enrich_csv, enrich_http, enrich_mx, enrich_guess
E2E_TESTS += %D%/integration/t_enrich.sh
# (cadences) enroll, windows on the test clock, call tasks, branches, threading, versions
E2E_TESTS += %D%/integration/t_cadence.sh
dist_check_SCRIPTS += $(E2E_TESTS) %D%/integration/lib.sh
TESTS += $(E2E_TESTS)

# Long tests: `make check-long` (CI runs it; not part of make check).
LONG_TESTS = %D%/integration/t_smtp_crash.sh
dist_check_SCRIPTS += $(LONG_TESTS)
check-long: all $(check_PROGRAMS) $(check_LTLIBRARIES)
	@$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(LONG_TESTS)'
.PHONY: check-long

TESTS += $(check_PROGRAMS)
# -- enrichment (store side) --
check_PROGRAMS += %D%/unit/t_import_burst
%C%_unit_t_import_burst_SOURCES = %D%/unit/t_import_burst.c %D%/unit/store_test_util.h
%C%_unit_t_import_burst_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_import_burst_LDADD = $(TEST_LDADD)
check_PROGRAMS += %D%/unit/t_enrich_store
%C%_unit_t_enrich_store_SOURCES = %D%/unit/t_enrich_store.c %D%/unit/store_test_util.h
%C%_unit_t_enrich_store_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_enrich_store_LDADD = $(TEST_LDADD)
# -- calls --
check_PROGRAMS += %D%/unit/t_calls_store
%C%_unit_t_calls_store_SOURCES = %D%/unit/t_calls_store.c %D%/unit/store_test_util.h
%C%_unit_t_calls_store_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_calls_store_LDADD = $(TEST_LDADD)
# (calls) drumbeat calls, log-call on a running daemon
E2E_TESTS += %D%/integration/t_calls.sh
# -- events/exits --
check_PROGRAMS += %D%/unit/t_exits_store
%C%_unit_t_exits_store_SOURCES = %D%/unit/t_exits_store.c %D%/unit/store_test_util.h
%C%_unit_t_exits_store_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_exits_store_LDADD = $(TEST_LDADD)
E2E_TESTS += %D%/integration/t_events.sh
# -- review/preview --
# (review/preview) review queue approve/edit/reject, preview = the bytes sent
E2E_TESTS += %D%/integration/t_review.sh
# -- preview send --
# (preview send) drumbeat preview --send-to: a test through the real mailbox to aiosmtpd
E2E_TESTS += %D%/integration/t_preview_send.sh
# -- cadence check/pause --
check_PROGRAMS += %D%/unit/t_cadence_check
%C%_unit_t_cadence_check_SOURCES = %D%/unit/t_cadence_check.c
%C%_unit_t_cadence_check_CFLAGS = $(TEST_CFLAGS)
%C%_unit_t_cadence_check_LDADD = $(TEST_LDADD)
E2E_TESTS += %D%/integration/t_cadence_ops.sh
# -- caps --
# (caps) mailbox daily/hourly caps, spacing, warm-up on the test clock
E2E_TESTS += %D%/integration/t_caps.sh
# -- clock/shadow runs --
# (clock/shadow) drumbeat clock show/set/advance; simulate; the outbox forecast vs what happens
E2E_TESTS += %D%/integration/t_clock.sh %D%/integration/t_simulate.sh %D%/integration/t_outbox.sh
E2E_TESTS += %D%/integration/t_mailboxes.sh
# (provider limits) channel_smtp limits counted over a channel's mailboxes
E2E_TESTS += %D%/integration/t_provider_limits.sh
