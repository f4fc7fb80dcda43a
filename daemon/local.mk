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
	%D%/log.c %D%/log.h %D%/log_buffer.c %D%/log_buffer.h \
	%D%/clock.c %D%/clock.h \
	%D%/touch_state.c %D%/touch_state.h
# -- config (config.c and friends) --
%C%_libcore_la_SOURCES += %D%/config.c %D%/config.h %D%/config_internal.h \
	%D%/config_ctx.c %D%/config_get.c %D%/config_suggest.c %D%/config_sections.c \
	%D%/config_instances.c %D%/config_team.c
# -- store (store_sqlite*.c) --
%C%_libcore_la_SOURCES += %D%/store.h %D%/store_internal.h %D%/store_sqlite.c \
	%D%/store_conn.c %D%/store_migrations.c %D%/store_writer.c %D%/store_writer_txn.c %D%/store_writer.h \
	%D%/store_writer_sync.c %D%/store_counts.c %D%/store_counts.h \
	%D%/store_name_filter.c %D%/store_name_filter.h \
	%D%/store_checkpoint.c %D%/store_checkpoint.h \
	%D%/store_events.c %D%/store_leads.c %D%/store_stages.c %D%/store_touches.c \
	%D%/store_claim.c %D%/store_misc.c %D%/store_mailboxes.c %D%/store_cadence_sync.c \
	%D%/store_throttle.c %D%/store_payloads.c
# -- plugins (plugin_loader*.c, host_api.c, curl_loop.c) --
%C%_libcore_la_SOURCES += %D%/plugin_loader.c %D%/plugin_loader.h %D%/plugin_loader_info.c \
	%D%/plugin_instance.c %D%/plugin_instance.h %D%/plugin_lookup.c %D%/plugin_options.c \
	%D%/host_api.c \
	%D%/curl_loop.c %D%/curl_loop.h
# -- http (http*.c, api_*.c, metrics.c) --
%C%_libcore_la_SOURCES += %D%/http.c %D%/http.h %D%/http_int.h %D%/http_route.c \
	%D%/http_reply.c %D%/api.h %D%/api_status.c %D%/metrics.c %D%/metrics.h
# -- daemon core (daemon.c, dispatch.c, ...) --
%C%_libcore_la_SOURCES += %D%/daemon.h %D%/compose.c %D%/compose.h %D%/compose_fast.c %D%/compose_internal.h %D%/draft.c %D%/draft.h \
	%D%/dispatch.c %D%/dispatch.h %D%/lifecycle.c %D%/lifecycle.h %D%/pidfile.c %D%/pidfile.h \
	%D%/stages.c %D%/stages.h %D%/api_touches.c %D%/api_leads.c %D%/api_util.c %D%/api_util.h
# -- caps (mailbox caps when claiming) --
%C%_libcore_la_SOURCES += %D%/dispatch_caps.c %D%/dispatch_provider.c %D%/dispatch_int.h \
	%D%/dispatch_outcome.c %D%/dispatch_hold.c
# -- templates (Mustache engine: template_*.c, strbuf.c) --
%C%_libcore_la_SOURCES += %D%/template.h %D%/template_int.h %D%/template_parse.c \
	%D%/template_render.c %D%/template_partials.c %D%/template_ext.c %D%/strbuf.c %D%/strbuf.h
# -- templates/compose (template files, render context, unsubscribe tokens) --
%C%_libcore_la_SOURCES += %D%/template_file.c %D%/template_file.h %D%/template_file_set.c \
	%D%/unsub_token.c %D%/unsub_token.h %D%/render_context.c %D%/render_context.h \
	%D%/render_message.c %D%/render_message.h

# -- import (csv_reader, import_map, email_addr, phone, tz_infer, import*, api_imports) --
%C%_libcore_la_SOURCES += %D%/csv_reader.c %D%/csv_reader.h
%C%_libcore_la_SOURCES += %D%/email_addr.c %D%/email_addr.h
%C%_libcore_la_SOURCES += %D%/country.c %D%/country.h %D%/phone.c %D%/phone.h \
	%D%/tz_infer.c %D%/tz_infer.h %D%/import_map.c %D%/import_map.h %D%/config_import.c
%C%_libcore_la_SOURCES += %D%/store_lead_batch.c %D%/store_import_burst.c
# -- channels/webhook (JSON payloads for JSON channels, event notifications) --
%C%_libcore_la_SOURCES += %D%/dispatch_json.c %D%/dispatch_json.h %D%/config_notifications.c \
	%D%/store_notify.c %D%/notify.c %D%/notify.h
%C%_libcore_la_SOURCES += %D%/import_row.c %D%/import_row.h %D%/import_parse.c \
	%D%/import_parse.h %D%/import.c %D%/import.h
%C%_libcore_la_SOURCES += %D%/api_imports.c
# -- preflight (dns.c on c-ares, preflight*.c: SPF/DMARC/DKIM checks) --
%C%_libcore_la_SOURCES += %D%/dns.c %D%/dns.h %D%/preflight.c %D%/preflight.h \
	%D%/preflight_spf.c %D%/preflight_fetch.c

# -- leads management (store_admin, api_lead_admin: list, suppress, forget, export) --
%C%_libcore_la_SOURCES += %D%/store_admin.c %D%/api_lead_admin.c
# -- icp (ideal customer profile: config_icp, icp scoring, icp_run, store_icp) --
%C%_libcore_la_SOURCES += %D%/icp.c %D%/icp.h %D%/config_icp.c %D%/icp_run.c %D%/store_icp.c
# -- window/holidays (cadences) --
%C%_libcore_la_SOURCES += %D%/window.c %D%/window.h %D%/window_parse.c %D%/holidays.c \
	%D%/holidays.h %D%/ical.c %D%/ical.h %D%/ical_int.h %D%/ical_event.c
# -- sequencer (cadences at run time: versions, enrollments, steps) --
%C%_libcore_la_SOURCES += %D%/sequencer.c %D%/sequencer.h %D%/sequencer_int.h \
	%D%/id_set.c %D%/id_set.h \
	%D%/sequencer_step.c %D%/sequencer_rules.c %D%/store_cadences.c %D%/store_sequencer.c \
	%D%/api_cadences.c %D%/clock_step.c %D%/clock_step.h
# -- enrichment (the waterfall, its config and store side) --
%C%_libcore_la_SOURCES += %D%/enrich.c %D%/enrich.h %D%/enrich_int.h %D%/enrich_limits.c \
	%D%/config_enrichment.c %D%/store_enrich.c %D%/store_lead_enrich.c %D%/api_enrich.c
# -- enrich_mx (DNS TTLs from raw answers, the host's dns_query service) --
%C%_libcore_la_SOURCES += %D%/dns_ttl.c %D%/dns_ttl.h %D%/host_dns.c
# -- cadence definitions --
%C%_libcore_la_SOURCES += %D%/cadence_def.c %D%/cadence_def.h %D%/cadence_int.h \
	%D%/cadence_rules.c %D%/cadence_calendar.c %D%/cadence_steps.c %D%/cadence_branch.c \
	%D%/cadence_util.c %D%/config_cadences.c
# -- calls --
%C%_libcore_la_SOURCES += %D%/calls.h %D%/calls.c %D%/calls_list.c %D%/store_tasks.c \
	%D%/api_calls.c
# -- events/exits --
%C%_libcore_la_SOURCES += %D%/exits.h %D%/exits.c %D%/store_exits.c %D%/store_inbound.c \
	%D%/api_events.c
# -- cadence check/pause --
%C%_libcore_la_SOURCES += %D%/cadence_check.h %D%/cadence_check.c %D%/cadence_check_dns.c \
	%D%/store_pause.c %D%/api_enrollments.c %D%/api_mailboxes.c

# -- review/preview --
%C%_libcore_la_SOURCES += %D%/store_review.c %D%/sequencer_preview.c %D%/api_review.c
# -- preview send --
%C%_libcore_la_SOURCES += %D%/api_preview_send.c
# -- clock/shadow runs (GET/POST /api/clock) --
%C%_libcore_la_SOURCES += %D%/api_clock.c

sbin_PROGRAMS += %D%/drumbeatd
%C%_drumbeatd_SOURCES = %D%/main.c
%C%_drumbeatd_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS)
%C%_drumbeatd_LDADD = %D%/libcore.la $(CORE_DEP_LIBS)

bin_PROGRAMS += %D%/drumbeat
%C%_drumbeat_SOURCES = %D%/cli/drumbeat.c %D%/cli/cli.h %D%/cli/cli_util.c
# -- cli commands (cli_*.c) --
%C%_drumbeat_SOURCES += %D%/cli/cli_status.c
%C%_drumbeat_SOURCES += %D%/cli/cli_check_config.c
%C%_drumbeat_SOURCES += %D%/cli/cli_send.c %D%/cli/cli_touch.c %D%/cli/cli_lead.c %D%/cli/cli_plugin_help.c
%C%_drumbeat_SOURCES += %D%/cli/cli_render.c
%C%_drumbeat_SOURCES += %D%/cli/cli_enrich.c %D%/cli/cli_enroll.c
%C%_drumbeat_SOURCES += %D%/cli/cli_render_message.c
%C%_drumbeat_SOURCES += %D%/cli/cli_import.c
# (preflight) drumbeat mailbox check
%C%_drumbeat_SOURCES += %D%/cli/cli_mailbox.c %D%/cli/cli_mailbox_ops.c
# (leads) drumbeat leads, suppress, unsuppress, forget, export-lead
%C%_drumbeat_SOURCES += %D%/cli/cli_leads.c %D%/cli/cli_lead_show.c
# -- calls -- drumbeat calls, log-call
%C%_drumbeat_SOURCES += %D%/cli/cli_calls.c
# -- events/exits -- drumbeat event
%C%_drumbeat_SOURCES += %D%/cli/cli_event.c
# -- cadence check/pause -- drumbeat cadence, enrollment
%C%_drumbeat_SOURCES += %D%/cli/cli_cadence.c
# -- review/preview -- drumbeat review, preview
%C%_drumbeat_SOURCES += %D%/cli/cli_review.c %D%/cli/cli_preview.c
# -- clock/shadow runs -- drumbeat clock, simulate, outbox
%C%_drumbeat_SOURCES += %D%/cli/cli_clock.c %D%/cli/shadow.c %D%/cli/shadow_config.c \
	%D%/cli/shadow.h %D%/cli/cli_simulate.c %D%/cli/cli_outbox.c
%C%_drumbeat_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS)
%C%_drumbeat_LDADD = %D%/libcore.la $(CORE_DEP_LIBS)
