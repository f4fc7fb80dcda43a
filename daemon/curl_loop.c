/* SPDX-License-Identifier: MIT */
/* daemon/curl_loop.c: curl's multi-socket API on the libuv loop, in the shape
 * of curl's docs/examples/multi-uv.c: curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION, one uv_poll each) and when to wake it
 * (CURLMOPT_TIMERFUNCTION, one uv_timer); we hand readiness back with
 * curl_multi_socket_action and reap finished transfers with
 * curl_multi_info_read. On top of the example: an application queue with a
 * bounded window, cancellation, and memory freed only in close callbacks. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "curl_loop.h"
#include "log.h"

/* One submitted transfer, on either the waiting queue or the running list. */
struct curl_xfer {
    struct curl_xfer *prev, *next;
    struct curl_loop *cl;
    CURL *easy;                    /* borrowed from the submitter */
    curl_loop_finished_cb finished;
    void *arg;
    bool running;                  /* inside the multi handle */
};

/* One socket curl asked us to watch. */
struct curl_sock {
    uv_poll_t poll;                /* poll.data points back here */
    struct curl_sock *prev, *next;
    struct curl_loop *cl;
    curl_socket_t fd;
};

struct xfer_list {
    struct curl_xfer *head, *tail;
    int count;
};

struct curl_loop {
    uv_loop_t *loop;               /* borrowed */
    CURLM *multi;                  /* NULL once closed */
    uv_timer_t timer;
    struct xfer_list queue;        /* waiting for room in the window */
    struct xfer_list running;      /* in the multi handle */
    struct curl_sock *socks;       /* sockets with an open uv_poll */
    int window;
    int open_handles;              /* uv handles not yet through their close callback */
    bool closing;
};

static void list_push(struct xfer_list *l, struct curl_xfer *x)
{
    x->next = NULL;
    x->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = x;
    else
        l->head = x;
    l->tail = x;
    l->count++;
}

static void list_unlink(struct xfer_list *l, struct curl_xfer *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        l->head = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    else
        l->tail = x->prev;
    x->prev = x->next = NULL;
    l->count--;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct curl_loop *cl;

    if (h->type == UV_POLL) {
        struct curl_sock *s = h->data;
        cl = s->cl;
        free(s);
    } else {
        cl = h->data;
    }
    if (--cl->open_handles == 0 && cl->closing)
        free(cl);
}

static void sock_close(struct curl_sock *s)
{
    struct curl_loop *cl = s->cl;

    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        cl->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

/* Hands a transfer back to its submitter. The xfer is freed first so that the
 * callback may submit again (even the same easy) or close the loop. */
static void xfer_finish(struct curl_xfer *x, CURLcode rc)
{
    curl_loop_finished_cb cb = x->finished;
    CURL *easy = x->easy;
    void *arg = x->arg;

    free(x);
    cb(easy, rc, arg);
}

static int xfer_start(struct curl_loop *cl, struct curl_xfer *x)
{
    CURLMcode mc = curl_multi_add_handle(cl->multi, x->easy);
    if (mc != CURLM_OK) {
        log_error("msg=\"curl_multi_add_handle failed\" error=\"%s\"", curl_multi_strerror(mc));
        return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
    }
    x->running = true;
    list_push(&cl->running, x);
    return 0;
}

/* Moves queued transfers into the multi handle while the window has room.
 * Never called from inside curl_loop_submit, so it may complete a transfer
 * that cannot start. */
static void pump(struct curl_loop *cl)
{
    while (!cl->closing && cl->queue.head != NULL && cl->running.count < cl->window) {
        struct curl_xfer *x = cl->queue.head;
        list_unlink(&cl->queue, x);
        if (xfer_start(cl, x) < 0)
            xfer_finish(x, CURLE_FAILED_INIT);
    }
}

static void process_done(struct curl_loop *cl)
{
    CURLMsg *msg;
    int pending;

    while (cl->multi != NULL && (msg = curl_multi_info_read(cl->multi, &pending)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        struct curl_xfer *x = NULL;

        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        /* msg is invalid after remove_handle, so everything is read above. */
        curl_multi_remove_handle(cl->multi, easy);
        if (x == NULL)
            continue;
        list_unlink(&cl->running, x);
        x->running = false;
        xfer_finish(x, rc);
    }
    pump(cl);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
    struct curl_sock *s = poll->data;
    struct curl_loop *cl = s->cl;
    int flags = 0, still;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(cl->multi, s->fd, flags, &still);
    process_done(cl);
}

static void on_timer(uv_timer_t *t)
{
    struct curl_loop *cl = t->data;
    int still;

    curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &still);
    process_done(cl);
}

/* CURLMOPT_TIMERFUNCTION. curl forbids calling socket_action from in here,
 * so even a 0 ms timeout goes through the loop, as a 1 ms timer. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct curl_loop *cl = userp;

    (void)multi;
    if (uv_is_closing((uv_handle_t *)&cl->timer))
        return 0;
    if (timeout_ms < 0) {
        uv_timer_stop(&cl->timer);
        return 0;
    }
    return uv_timer_start(&cl->timer, on_timer, timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0) == 0
               ? 0 : -1;
}

/* CURLMOPT_SOCKETFUNCTION. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    struct curl_loop *cl = userp;
    struct curl_sock *s = socketp;
    int events = 0;

    (void)easy;
    if (action == CURL_POLL_REMOVE) {
        if (s != NULL) {
            curl_multi_assign(cl->multi, fd, NULL);
            uv_poll_stop(&s->poll);
            sock_close(s);
        }
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return -1;
        if (uv_poll_init_socket(cl->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        s->cl = cl;
        s->fd = fd;
        s->next = cl->socks;
        if (cl->socks != NULL)
            cl->socks->prev = s;
        cl->socks = s;
        cl->open_handles++;
        curl_multi_assign(cl->multi, fd, s);
    }
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&s->poll, events, on_poll) == 0 ? 0 : -1;
}

int curl_loop_init(uv_loop_t *loop, struct curl_loop **out)
{
    struct curl_loop *cl;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -EIO;
    cl = calloc(1, sizeof(*cl));
    if (cl == NULL)
        return -ENOMEM;
    cl->multi = curl_multi_init();
    if (cl->multi == NULL) {
        free(cl);
        return -ENOMEM;
    }
    cl->loop = loop;
    cl->window = CURL_LOOP_DEFAULT_WINDOW;
    uv_timer_init(loop, &cl->timer);
    cl->timer.data = cl;
    cl->open_handles = 1;
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
    *out = cl;
    return 0;
}

void curl_loop_close(struct curl_loop *cl)
{
    if (cl == NULL || cl->closing)
        return;
    cl->closing = true;
    /* Each finished may submit (refused now) or cancel others, so take the
     * head afresh every time. */
    while (cl->running.head != NULL) {
        struct curl_xfer *x = cl->running.head;
        list_unlink(&cl->running, x);
        curl_multi_remove_handle(cl->multi, x->easy);
        xfer_finish(x, CURLE_ABORTED_BY_CALLBACK);
    }
    while (cl->queue.head != NULL) {
        struct curl_xfer *x = cl->queue.head;
        list_unlink(&cl->queue, x);
        xfer_finish(x, CURLE_ABORTED_BY_CALLBACK);
    }
    curl_multi_cleanup(cl->multi);
    cl->multi = NULL;
    /* Sockets curl kept for reuse may not have been announced as removed. */
    while (cl->socks != NULL)
        sock_close(cl->socks);
    uv_close((uv_handle_t *)&cl->timer, on_handle_closed);
    curl_global_cleanup();
}

static bool is_submitted(const struct curl_loop *cl, CURL *easy)
{
    for (const struct curl_xfer *x = cl->running.head; x != NULL; x = x->next)
        if (x->easy == easy)
            return true;
    for (const struct curl_xfer *x = cl->queue.head; x != NULL; x = x->next)
        if (x->easy == easy)
            return true;
    return false;
}

int curl_loop_submit(struct curl_loop *cl, CURL *easy, curl_loop_finished_cb finished, void *arg)
{
    struct curl_xfer *x;
    int rc;

    if (cl == NULL || cl->closing)
        return -ECANCELED;
    if (easy == NULL || finished == NULL)
        return -EINVAL;
    if (is_submitted(cl, easy))
        return -EBUSY;
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return -ENOMEM;
    x->cl = cl;
    x->easy = easy;
    x->finished = finished;
    x->arg = arg;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)x);
    /* Signals would hit whichever thread runs the resolver's alarm. */
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    if (cl->queue.head == NULL && cl->running.count < cl->window) {
        /* add_handle only arms the timer: nothing completes from in here. */
        rc = xfer_start(cl, x);
        if (rc < 0) {
            free(x);
            return rc;
        }
    } else {
        list_push(&cl->queue, x);
    }
    return 0;
}

int curl_loop_cancel(struct curl_loop *cl, CURL *easy)
{
    for (struct curl_xfer *x = cl->running.head; x != NULL; x = x->next) {
        if (x->easy == easy) {
            list_unlink(&cl->running, x);
            curl_multi_remove_handle(cl->multi, easy);
            xfer_finish(x, CURLE_ABORTED_BY_CALLBACK);
            pump(cl);
            return 0;
        }
    }
    for (struct curl_xfer *x = cl->queue.head; x != NULL; x = x->next) {
        if (x->easy == easy) {
            list_unlink(&cl->queue, x);
            xfer_finish(x, CURLE_ABORTED_BY_CALLBACK);
            return 0;
        }
    }
    return -ENOENT;
}

int curl_loop_in_flight(const struct curl_loop *cl)
{
    return cl == NULL ? 0 : cl->running.count + cl->queue.count;
}

int curl_loop_running(const struct curl_loop *cl)
{
    return cl == NULL ? 0 : cl->running.count;
}

int curl_loop_set_window(struct curl_loop *cl, int window)
{
    if (window < 1)
        return -EINVAL;
    cl->window = window;
    pump(cl);
    return 0;
}
