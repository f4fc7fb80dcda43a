/* SPDX-License-Identifier: MIT */
/* daemon/import.c: one import on the loop: collects the streamed bytes into
 * IMPORT_CHUNK-sized chunks, parses one chunk at a time on the threadpool
 * (uv_queue_work; import_parse.c), hands the rows to the store in batches
 * and counts what happened to each. Back-pressure keeps memory bounded: no
 * new chunk starts while one is parsed or IMPORT_MAX_BATCHES batches are
 * waiting for the writer, and import_feed() takes nothing while the next
 * chunk is full. The settings an import needs are copied at its start, so a
 * config reload in the middle changes nothing for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "import.h"
#include "import_parse.h"
#include "log.h"

struct import {
    uv_loop_t *loop;
    struct store *st;
    import_resume_cb on_resume;
    import_done_cb on_done;
    void *arg;
    struct store_actor actor;
    char *actor_name;
    char **free_mail, **role_locals;
    char *source, *basis, *format;
    struct import_rules rules;
    int batch_rows;
    unsigned flags;
    int64_t started_ms;

    struct import_parser *parser;     /* the worker's while a job runs */
    char *in;                         /* the chunk being filled */
    size_t in_len;
    char *work_in;                    /* the chunk being parsed */
    size_t work_len;
    bool work_last;
    struct import_out out;            /* the job's result */
    uv_work_t work;
    bool job_running;
    int batches;                      /* queued in the store */
    bool ended;                       /* import_finish() was called */
    bool parsed_all;                  /* the last chunk has been parsed */
    bool finishing, done_called, aborted, wanted_more;
    int status;
    struct errbuf err;

    int64_t read, imported, updated, duplicates, suppressed, invalid, probable;
    json_t *invalid_rows, *suppressed_rows, *dup_rows, *columns;
    int delim;
};

struct batch_ctx {
    struct import *imp;
    size_t n;
    long lines[];
};

static void import_step(struct import *imp);
static bool maybe_release(struct import *imp);

static char **strv_copy(char *const *v)
{
    size_t n = 0;
    while (v != NULL && v[n] != NULL)
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    for (size_t i = 0; out != NULL && i < n; i++)
        if ((out[i] = strdup(v[i])) == NULL)
            return out;   /* shorter list; the import still runs */
    return out;
}

static void strv_release(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static void import_free(struct import *imp)
{
    import_parser_free(imp->parser);
    import_out_free(&imp->out);
    free(imp->in);
    free(imp->work_in);
    strv_release(imp->free_mail);
    strv_release(imp->role_locals);
    free(imp->source);
    free(imp->basis);
    free(imp->format);
    free(imp->actor_name);
    json_decref(imp->invalid_rows);
    json_decref(imp->suppressed_rows);
    json_decref(imp->dup_rows);
    json_decref(imp->columns);
    free(imp);
}

int import_new(uv_loop_t *loop, struct store *st, const struct config *cfg,
               const struct import_opts *opts, const struct store_actor *actor,
               import_resume_cb on_resume, import_done_cb on_done, void *arg,
               struct import **out, struct errbuf *err)
{
    const char *format = opts->format != NULL && opts->format[0] != '\0' ? opts->format : "csv";
    const char *basis = opts->basis != NULL && opts->basis[0] != '\0' ? opts->basis
                                                                      : cfg->import.lawful_basis;
    enum import_format fmt;

    if (strcmp(format, "csv") == 0)
        fmt = IMPORT_FORMAT_CSV;
    else if (strcmp(format, "jsonl") == 0 || strcmp(format, "ndjson") == 0)
        fmt = IMPORT_FORMAT_JSONL;
    else
        return errbuf_at(err, -EINVAL, NULL, "format", "expected \"csv\" or \"jsonl\", got \"%.40s\"",
                         format);
    if (!config_lawful_basis_valid(basis))
        return errbuf_at(err, -EINVAL, NULL, "basis", "expected one of consent, contract, "
                         "legal_obligation, vital_interests, public_task, legitimate_interest, "
                         "got \"%.40s\"", basis != NULL ? basis : "");
    if (opts->source != NULL && strlen(opts->source) > 200)
        return errbuf_at(err, -EINVAL, NULL, "source", "expected at most 200 characters");

    struct import *imp = calloc(1, sizeof(*imp));
    if (imp == NULL)
        return -ENOMEM;
    imp->loop = loop;
    imp->st = st;
    imp->on_resume = on_resume;
    imp->on_done = on_done;
    imp->arg = arg;
    imp->actor.kind = actor != NULL ? actor->kind : STORE_ACTOR_SYSTEM;
    imp->actor_name = actor != NULL && actor->name != NULL ? strdup(actor->name) : NULL;
    imp->actor.name = imp->actor_name;
    imp->free_mail = strv_copy(cfg->import.free_mail_domains);
    imp->role_locals = strv_copy(cfg->import.role_locals);
    imp->source = opts->source != NULL && opts->source[0] != '\0' ? strdup(opts->source) : NULL;
    imp->basis = strdup(basis);
    imp->format = strdup(fmt == IMPORT_FORMAT_CSV ? "csv" : "jsonl");
    imp->batch_rows = cfg->import.batch_rows > 0 ? cfg->import.batch_rows : 2000;
    imp->flags = (opts->dry_run ? STORE_BATCH_DRY_RUN : 0) | (opts->enrich ? STORE_BATCH_ENRICH : 0);
    imp->started_ms = clock_now_ms();
    imp->in = malloc(IMPORT_CHUNK);
    imp->invalid_rows = json_array();
    imp->suppressed_rows = json_array();
    imp->dup_rows = json_array();
    imp->rules = (struct import_rules){
        .free_mail = (const char *const *)imp->free_mail,
        .role_locals = (const char *const *)imp->role_locals,
        .source = imp->source, .lawful_basis = imp->basis, .overwrite = opts->overwrite,
    };
    if (imp->free_mail == NULL || imp->role_locals == NULL || imp->basis == NULL ||
        imp->format == NULL || imp->in == NULL || imp->invalid_rows == NULL ||
        imp->suppressed_rows == NULL || imp->dup_rows == NULL ||
        (opts->source != NULL && opts->source[0] != '\0' && imp->source == NULL)) {
        import_free(imp);
        return -ENOMEM;
    }
    int rc = import_parser_new(fmt, opts->delimiter, opts->map, &imp->rules, &imp->parser, err);
    if (rc < 0) {
        import_free(imp);
        return rc;
    }
    *out = imp;
    return 0;
}

static void list_add(json_t *list, json_t *item)
{
    if (json_array_size(list) < IMPORT_LIST_MAX)
        json_array_append_new(list, item);
    else
        json_decref(item);
}

static json_t *summary(struct import *imp)
{
    json_t *s = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s, s:s?, s:s, s:I}",
                          "read", (json_int_t)imp->read, "imported", (json_int_t)imp->imported,
                          "updated", (json_int_t)imp->updated,
                          "duplicates", (json_int_t)imp->duplicates,
                          "suppressed", (json_int_t)imp->suppressed,
                          "invalid", (json_int_t)imp->invalid,
                          "probable_duplicates", (json_int_t)imp->probable,
                          "dry_run", (imp->flags & STORE_BATCH_DRY_RUN) != 0,
                          "format", imp->format, "source", imp->source,
                          "lawful_basis", imp->basis,
                          "ms", (json_int_t)(clock_now_ms() - imp->started_ms));
    if (s == NULL)
        return NULL;
    if (imp->delim != 0) {
        char d[2] = { (char)imp->delim, '\0' };
        json_object_set_new(s, "delimiter", json_string(d));
    }
    json_object_set(s, "columns", imp->columns != NULL ? imp->columns : json_null());
    json_object_set(s, "invalid_rows", imp->invalid_rows);
    json_object_set(s, "suppressed_rows", imp->suppressed_rows);
    json_object_set(s, "probable_duplicate_rows", imp->dup_rows);
    return s;
}

static void report(struct import *imp)
{
    imp->done_called = true;
    if (imp->aborted)
        return;
    if (imp->status < 0) {
        imp->on_done(imp->status, NULL, &imp->err, imp->arg);
        return;
    }
    json_t *s = summary(imp);
    struct errbuf none = { 0 };
    imp->on_done(s != NULL ? 0 : -ENOMEM, s, &none, imp->arg);
    json_decref(s);
}

static void on_audit(int status, int64_t id, void *arg)
{
    struct import *imp = arg;
    imp->batches--;
    if (status < 0)
        log_warn("msg=\"cannot record the import event\" error=%s", error_name(status));
    report(imp);
    maybe_release(imp);
}

/* Everything is committed: logs, records the audit event and, once that is
 * committed too, reports. */
static void finish_now(struct import *imp)
{
    if (imp->done_called || imp->finishing)
        return;
    imp->finishing = true;
    if (imp->aborted || imp->status < 0) {
        report(imp);
        return;
    }
    log_info("msg=\"import done\" source=%s format=%s dry_run=%d read=%lld imported=%lld "
             "updated=%lld duplicates=%lld suppressed=%lld invalid=%lld", imp->source != NULL
             ? imp->source : "-", imp->format, (imp->flags & STORE_BATCH_DRY_RUN) != 0,
             (long long)imp->read, (long long)imp->imported, (long long)imp->updated,
             (long long)imp->duplicates, (long long)imp->suppressed, (long long)imp->invalid);
    if ((imp->flags & STORE_BATCH_DRY_RUN) == 0) {
        /* An audit record of the import: counts only, no personal data.
         * The reply waits for it, so that "done" means all of it is
         * durable. */
        json_t *data = json_pack("{s:s?, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "source",
                                 imp->source, "lawful_basis", imp->basis,
                                 "read", (json_int_t)imp->read, "imported", (json_int_t)imp->imported,
                                 "updated", (json_int_t)imp->updated,
                                 "duplicates", (json_int_t)imp->duplicates,
                                 "suppressed", (json_int_t)imp->suppressed,
                                 "invalid", (json_int_t)imp->invalid);
        int rc = store_event_append(imp->st, 0, 0, "import", &imp->actor, data, on_audit, imp);
        json_decref(data);
        if (rc == 0) {
            imp->batches++;
            return;
        }
    }
    report(imp);
}

static void fail_with(struct import *imp, int status, const struct errbuf *err)
{
    if (imp->status < 0)
        return;
    imp->status = status;
    if (err != NULL)
        imp->err = *err;
    else
        errbuf_set(&imp->err, status, "the import failed: %s", error_text(status));
}

/* Frees the import when nothing it started is still running. */
static bool maybe_release(struct import *imp)
{
    if (imp->job_running || imp->batches > 0)
        return false;
    if (imp->aborted || imp->done_called) {
        import_free(imp);
        return true;
    }
    return false;
}

static void on_batch(int status, const struct store_lead_outcome *o, size_t n, void *arg)
{
    struct batch_ctx *b = arg;
    struct import *imp = b->imp;

    imp->batches--;
    if (status < 0) {
        struct errbuf err = { 0 };
        errbuf_set(&err, status, "the store refused a batch (lines %ld..%ld): %s",
                   b->lines[0], b->lines[b->n - 1], error_text(status));
        fail_with(imp, status, &err);
    }
    for (size_t i = 0; status == 0 && i < n; i++) {
        if (o[i].suppressed) {
            imp->suppressed++;
            list_add(imp->suppressed_rows,
                     json_pack("{s:i, s:I, s:s?}", "line", (int)b->lines[i], "lead_id",
                               (json_int_t)o[i].lead_id, "reason", o[i].suppressed_reason));
        } else if (o[i].result == STORE_LEAD_CREATED) {
            imp->imported++;
        } else if (o[i].result == STORE_LEAD_UPDATED) {
            imp->updated++;
        } else {
            imp->duplicates++;
        }
        if (o[i].probable_dup_of > 0) {
            imp->probable++;
            list_add(imp->dup_rows, json_pack("{s:i, s:I, s:I}", "line", (int)b->lines[i],
                                              "lead_id", (json_int_t)o[i].lead_id,
                                              "duplicate_of", (json_int_t)o[i].probable_dup_of));
        }
    }
    free(b);
    import_step(imp);
}

/* Loop thread: what a parsed chunk gave. */
static void take_out(struct import *imp)
{
    struct import_out *o = &imp->out;

    imp->read += o->read;
    imp->invalid += (int64_t)(o->read - (long)o->n);
    for (size_t i = 0; i < o->n_bad; i++)
        list_add(imp->invalid_rows, json_pack("{s:i, s:s}", "line", (int)o->bad[i].line,
                                              "reason", o->bad[i].reason));
    if (o->status < 0)
        fail_with(imp, o->status, &o->err);
    if (imp->columns == NULL && import_parser_columns(imp->parser) != NULL)
        imp->columns = json_incref((json_t *)import_parser_columns(imp->parser));
    imp->delim = import_parser_delim(imp->parser);
    for (size_t at = 0; imp->status == 0 && at < o->n; at += (size_t)imp->batch_rows) {
        size_t m = o->n - at < (size_t)imp->batch_rows ? o->n - at : (size_t)imp->batch_rows;
        struct batch_ctx *b = malloc(sizeof(*b) + m * sizeof(long));
        if (b == NULL) {
            fail_with(imp, -ENOMEM, NULL);
            break;
        }
        b->imp = imp;
        b->n = m;
        memcpy(b->lines, o->lines + at, m * sizeof(long));
        bool more = !imp->work_last || at + m < o->n;
        int rc = store_lead_upsert_batch(imp->st, o->rows + at, m,
                                         imp->flags | (more ? STORE_BATCH_MORE : 0),
                                         &imp->actor, on_batch, b);
        if (rc < 0) {
            free(b);
            fail_with(imp, rc, NULL);
            break;
        }
        imp->batches++;
    }
    /* The store copied the rows: the chunk's memory can go. */
    import_out_free(o);
}

static void work_parse(uv_work_t *w)
{
    struct import *imp = w->data;
    import_parser_feed(imp->parser, imp->work_in, imp->work_len, imp->work_last, &imp->out);
}

static void after_parse(uv_work_t *w, int status)
{
    struct import *imp = w->data;

    imp->job_running = false;
    if (imp->work_last)
        imp->parsed_all = true;
    imp->work_len = 0;
    if (status < 0)
        fail_with(imp, status, NULL);
    else if (!imp->aborted)
        take_out(imp);
    else
        import_out_free(&imp->out);
    import_step(imp);
}

static int start_job(struct import *imp, bool last)
{
    char *t = imp->work_in;
    imp->work_in = imp->in;
    imp->work_len = imp->in_len;
    imp->work_last = last;
    imp->in = t != NULL ? t : malloc(IMPORT_CHUNK);
    imp->in_len = 0;
    if (imp->in == NULL)
        return -ENOMEM;
    imp->work.data = imp;
    int rc = uv_queue_work(imp->loop, &imp->work, work_parse, after_parse);
    if (rc == 0)
        imp->job_running = true;
    return rc;
}

/* Decides what happens next, after any event. */
static void import_step(struct import *imp)
{
    if (imp->status < 0 || imp->aborted) {
        if (!imp->job_running && imp->batches == 0)
            finish_now(imp);
        maybe_release(imp);
        return;
    }
    bool room = imp->batches < IMPORT_MAX_BATCHES;
    if (!imp->job_running && room && !imp->parsed_all &&
        (imp->in_len == IMPORT_CHUNK || (imp->ended && !imp->parsed_all))) {
        int rc = start_job(imp, imp->ended);
        if (rc < 0) {
            fail_with(imp, rc, NULL);
            import_step(imp);
            return;
        }
    }
    if (imp->ended && imp->parsed_all && !imp->job_running && imp->batches == 0) {
        finish_now(imp);
        maybe_release(imp);
        return;
    }
    if (imp->wanted_more && imp->in_len < IMPORT_CHUNK && imp->on_resume != NULL) {
        imp->wanted_more = false;
        imp->on_resume(imp->arg);
    }
}

long import_feed(struct import *imp, const char *data, size_t len)
{
    if (imp->status < 0)
        return imp->status;
    size_t room = IMPORT_CHUNK - imp->in_len;
    size_t n = len < room ? len : room;
    memcpy(imp->in + imp->in_len, data, n);
    imp->in_len += n;
    if (n < len)
        imp->wanted_more = true;
    if (imp->in_len == IMPORT_CHUNK && !imp->job_running && imp->batches < IMPORT_MAX_BATCHES) {
        int rc = start_job(imp, false);
        if (rc < 0) {
            fail_with(imp, rc, NULL);
            import_step(imp);
            return rc;
        }
        /* The new chunk is empty: take the rest now. */
        if (n < len) {
            size_t more = len - n < IMPORT_CHUNK ? len - n : IMPORT_CHUNK;
            memcpy(imp->in, data + n, more);
            imp->in_len = more;
            n += more;
            imp->wanted_more = n < len;
        }
    }
    return (long)n;
}

void import_finish(struct import *imp)
{
    imp->ended = true;
    import_step(imp);
}

void import_abort(struct import *imp)
{
    imp->aborted = true;
    imp->ended = true;
    if (!imp->job_running && imp->batches == 0) {
        imp->done_called = true;
        import_free(imp);
    }
}
