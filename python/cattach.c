/* cattach.c — sharr._cattach, the CPython extension that attaches an array and builds
 * its numpy array in one call: sharr_open, the memoryview of the mapping, the
 * Attachment record and the ndarray of the caller's class, with no Python in between.
 *
 * It speaks no protocol: every request goes through libsharr (the same library the
 * ctypes binding, _lib.py, loads). It owns the lifetime rule of a Python attachment:
 * the handle is closed when the memoryview of its mapping is garbage, never before.
 * The rest of the package (argument checks, errors, pickling) stays in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <stdint.h>
#include <string.h>

#include "sharr.h"

/* dtypes kept by typestr: the few dozen in use; past this many, built each time. */
#define CATTACH_DTYPES_MAX 64

/* The module's state: the Python objects it calls back into and its dtype cache. */
struct cattach_state {
    PyTypeObject *attachment_type; /* sharr._cattach.Attachment */
    PyTypeObject *release_type;    /* sharr._cattach.Release */
    PyObject *error_factory;       /* _errors.from_result(rc, name) -> exception */
    PyObject *dtype_factory;       /* _info.numpy_dtype(typestr bytes) -> dtype */
    PyObject *str_sharr, *str_mmap, *str_filename, *str_offset, *str_mode;
    PyObject *modes[4];            /* "r", "r+", "w+", "c" */
    size_t ndtypes;
    struct {
        char typestr[SHARR_DTYPE_MAX + 1];
        PyObject *dtype;
    } dtypes[CATTACH_DTYPES_MAX];
};

static struct cattach_state *cattach_state(PyObject *module)
{
    return (struct cattach_state *)PyModule_GetState(module);
}

/* ---- Release: closes a handle when the memoryview of its mapping is collected ---- */

/* The weakref callback of the memoryviews over one handle's mappings: the attach's,
 * and one more per refresh that found the array longer (refresh). The handle is closed
 * when the last of them is collected. This object and the weakrefs in refs refer to
 * each other, so all live until the last callback has run (or the interpreter ends);
 * the Attachments of the handle hold this object too. */
typedef struct {
    PyObject_HEAD
    sharr_array_t *array;
    PyObject *refs;        /* list: the weakrefs of the memoryviews still alive */
} cattach_release;

static void cattach_close(sharr_array_t *array)
{
    /* Errors are dropped: there is no caller left to tell, and the daemon releases
     * what a connection still holds when the connection closes. */
    Py_BEGIN_ALLOW_THREADS
    (void)sharr_close(array);
    Py_END_ALLOW_THREADS
}

static PyObject *cattach_release_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    cattach_release *r = (cattach_release *)self;
    sharr_array_t *array = r->array;
    PyObject *refs = r->refs;
    PyObject *ref = PyTuple_Check(args) && PyTuple_GET_SIZE(args) == 1
                    ? PyTuple_GET_ITEM(args, 0) : NULL;

    (void)kwargs;
    if (refs == NULL)
        Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(refs); i++) {
        if (PyList_GET_ITEM(refs, i) == ref) {
            if (PyList_SetSlice(refs, i, i + 1, NULL) < 0)
                return NULL;
            break;
        }
    }
    if (PyList_GET_SIZE(refs) > 0)
        Py_RETURN_NONE;
    r->array = NULL;
    r->refs = NULL;
    if (array != NULL)
        cattach_close(array);
    Py_DECREF(refs); /* breaks the cycle: self goes when its last holder does */
    Py_RETURN_NONE;
}

static void cattach_release_dealloc(PyObject *self)
{
    cattach_release *r = (cattach_release *)self;
    PyTypeObject *type = Py_TYPE(self);

    /* Only reached after the callback ran, or at interpreter teardown. */
    if (r->array != NULL)
        cattach_close(r->array);
    Py_XDECREF(r->refs);
    type->tp_free(self);
    Py_DECREF(type); /* instances of a heap type hold a reference to it */
}

static PyType_Slot cattach_release_slots[] = {
    {Py_tp_call, (void *)cattach_release_call},
    {Py_tp_dealloc, (void *)cattach_release_dealloc},
    {Py_tp_doc, (void *)"Closes one libsharr handle when its mapping's memoryview goes."},
    {0, NULL},
};

static PyType_Spec cattach_release_spec = {
    .name = "sharr._cattach.Release",
    .basicsize = sizeof(cattach_release),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = cattach_release_slots,
};

/* ---- Attachment: one open array in this process ---- */

typedef struct {
    PyObject_HEAD
    PyObject *socket;     /* the daemon's socket path */
    PyObject *name;       /* the name as the caller gave it */
    PyObject *mode;       /* 'r', 'r+', 'w+' or 'c' */
    PyObject *mmap;       /* memoryview of the whole mapping, from byte 0 */
    PyObject *address;    /* int: where the data starts in this process */
    PyObject *dtype;
    PyObject *shape;
    PyObject *order;      /* 'C' or 'F' */
    PyObject *offset;     /* int: the data offset in the .npy bytes */
    PyObject *path;       /* the .npy path of a persistent array, else None */
    PyObject *info_cache; /* _info: the ArrayInfo, built by Python when asked */
    PyObject *server_id;  /* _server_id: set by Python when asked */
    PyObject *release;    /* the handle's cattach_release, shared with its refreshes */
    int closed;
    sharr_array_t *array; /* valid while mmap lives, which this object holds */
} cattach_attachment;

static int cattach_attachment_traverse(PyObject *self, visitproc visit, void *arg)
{
    cattach_attachment *a = (cattach_attachment *)self;

    Py_VISIT(Py_TYPE(self));
    Py_VISIT(a->info_cache);
    Py_VISIT(a->server_id);
    return 0;
}

static int cattach_attachment_clear(PyObject *self)
{
    cattach_attachment *a = (cattach_attachment *)self;

    Py_CLEAR(a->info_cache);
    Py_CLEAR(a->server_id);
    return 0;
}

static void cattach_attachment_dealloc(PyObject *self)
{
    cattach_attachment *a = (cattach_attachment *)self;
    PyTypeObject *type = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    (void)cattach_attachment_clear(self);
    Py_XDECREF(a->socket);
    Py_XDECREF(a->name);
    Py_XDECREF(a->mode);
    Py_XDECREF(a->mmap);
    Py_XDECREF(a->address);
    Py_XDECREF(a->dtype);
    Py_XDECREF(a->shape);
    Py_XDECREF(a->order);
    Py_XDECREF(a->offset);
    Py_XDECREF(a->path);
    Py_XDECREF(a->release);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyObject *cattach_attachment_ptr(PyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromVoidPtr(((cattach_attachment *)self)->array);
}

static PyObject *cattach_attachment_ctime_ns(PyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLongLong(sharr_array_info(((cattach_attachment *)self)->array)->ctime_ns);
}

static PyMemberDef cattach_attachment_members[] = {
    {"socket", T_OBJECT, offsetof(cattach_attachment, socket), READONLY, NULL},
    {"name", T_OBJECT, offsetof(cattach_attachment, name), READONLY, NULL},
    {"mode", T_OBJECT, offsetof(cattach_attachment, mode), READONLY, NULL},
    {"mmap", T_OBJECT, offsetof(cattach_attachment, mmap), READONLY, NULL},
    {"address", T_OBJECT, offsetof(cattach_attachment, address), READONLY, NULL},
    {"dtype", T_OBJECT, offsetof(cattach_attachment, dtype), READONLY, NULL},
    {"shape", T_OBJECT, offsetof(cattach_attachment, shape), READONLY, NULL},
    {"order", T_OBJECT, offsetof(cattach_attachment, order), READONLY, NULL},
    {"offset", T_OBJECT, offsetof(cattach_attachment, offset), READONLY, NULL},
    {"path", T_OBJECT, offsetof(cattach_attachment, path), READONLY, NULL},
    {"_info", T_OBJECT, offsetof(cattach_attachment, info_cache), 0, NULL},
    {"_server_id", T_OBJECT, offsetof(cattach_attachment, server_id), 0, NULL},
    {"closed", T_BOOL, offsetof(cattach_attachment, closed), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef cattach_attachment_getset[] = {
    {"_ptr", cattach_attachment_ptr, NULL, "the sharr_array_t * (an int)", NULL},
    {"ctime_ns", cattach_attachment_ctime_ns, NULL,
     "the array's creation time, which tells this incarnation of the name from later ones",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot cattach_attachment_slots[] = {
    {Py_tp_dealloc, (void *)cattach_attachment_dealloc},
    {Py_tp_traverse, (void *)cattach_attachment_traverse},
    {Py_tp_clear, (void *)cattach_attachment_clear},
    {Py_tp_members, (void *)cattach_attachment_members},
    {Py_tp_getset, (void *)cattach_attachment_getset},
    {Py_tp_doc, (void *)"An open array: its handle, metadata and the memoryview of its "
                        "mapping (made by sharr._cattach.attach or wrap only)."},
    {0, NULL},
};

static PyType_Spec cattach_attachment_spec = {
    .name = "sharr._cattach.Attachment",
    .basicsize = sizeof(cattach_attachment),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = cattach_attachment_slots,
};

/* ---- building an attachment ---- */

/* The numpy dtype of a canonical typestr or of a record's description, from the cache
 * (short ones only) or the Python factory. */
static PyObject *cattach_dtype(struct cattach_state *st, const char *typestr)
{
    PyObject *dt;

    for (size_t i = 0; i < st->ndtypes; i++)
        if (strcmp(st->dtypes[i].typestr, typestr) == 0)
            return Py_NewRef(st->dtypes[i].dtype);
    dt = PyObject_CallFunction(st->dtype_factory, "y", typestr);
    if (dt == NULL)
        return NULL;
    if (!PyArray_DescrCheck(dt)) {
        Py_DECREF(dt);
        PyErr_SetString(PyExc_TypeError, "sharr: dtype factory returned no numpy dtype");
        return NULL;
    }
    if (st->ndtypes < CATTACH_DTYPES_MAX && strlen(typestr) <= SHARR_DTYPE_MAX) {
        strcpy(st->dtypes[st->ndtypes].typestr, typestr);
        st->dtypes[st->ndtypes].dtype = Py_NewRef(dt);
        st->ndtypes++;
    }
    return dt;
}

/* A memoryview of len bytes at map (PyBUF_READ or PyBUF_WRITE in flags) whose
 * collection rel hears of: its weakref joins rel->refs. */
static PyObject *cattach_watched_view(cattach_release *rel, char *map, Py_ssize_t len,
                                      int flags)
{
    PyObject *mv = PyMemoryView_FromMemory(map, len, flags);
    PyObject *ref;

    if (mv == NULL)
        return NULL;
    ref = PyWeakref_NewRef(mv, (PyObject *)rel);
    if (ref == NULL || PyList_Append(rel->refs, ref) < 0) {
        Py_XDECREF(ref);
        Py_DECREF(mv);
        return NULL;
    }
    Py_DECREF(ref); /* rel->refs holds it */
    return mv;
}

/* The shape tuple of info. */
static PyObject *cattach_shape(const struct sharr_info *info)
{
    PyObject *shape = PyTuple_New(info->ndim);

    if (shape == NULL)
        return NULL;
    for (int i = 0; i < info->ndim; i++) {
        PyObject *d = PyLong_FromUnsignedLongLong(info->shape[i]);

        if (d == NULL) {
            Py_DECREF(shape);
            return NULL;
        }
        PyTuple_SET_ITEM(shape, i, d);
    }
    return shape;
}

/* The interned mode string for mode ("r", "r+", "w+" or "c"). */
static PyObject *cattach_mode(struct cattach_state *st, const char *mode)
{
    if (mode[0] == 'r')
        return Py_NewRef(st->modes[mode[1] == '+' ? 1 : 0]);
    return Py_NewRef(st->modes[mode[0] == 'w' ? 2 : 3]);
}

/* An Attachment of type for array, taking ownership of array (closed on failure).
 * socket and name are kept by reference. */
static cattach_attachment *cattach_wrap(struct cattach_state *st, PyTypeObject *type,
                                        PyObject *socket, PyObject *name,
                                        sharr_array_t *array)
{
    const struct sharr_info *info = sharr_array_info(array);
    const char *mode = sharr_array_mode(array);
    char *data = sharr_array_data(array);
    sharr_array_t *handle = array;
    cattach_attachment *a = NULL;
    cattach_release *rel = NULL;
    PyObject *mv = NULL;
    int flags = strcmp(mode, "r") == 0 ? PyBUF_READ : PyBUF_WRITE;

    if (data == NULL) {
        PyErr_SetString(PyExc_ValueError, "sharr: the handle has no mapping");
        goto fail;
    }
    if (info->offset + info->nbytes > (uint64_t)PY_SSIZE_T_MAX) {
        PyErr_SetString(PyExc_OverflowError, "sharr: the array is too large for this process");
        goto fail;
    }
    rel = PyObject_New(cattach_release, st->release_type);
    if (rel == NULL)
        goto fail;
    rel->array = NULL;
    rel->refs = PyList_New(0);
    if (rel->refs == NULL)
        goto fail;
    mv = cattach_watched_view(rel, data - info->offset,
                              (Py_ssize_t)(info->offset + info->nbytes), flags);
    if (mv == NULL)
        goto fail;
    /* From here on the weakref's callback closes the handle, when mv goes. */
    rel->array = array;
    array = NULL;
    a = PyObject_GC_New(cattach_attachment, type);
    if (a == NULL)
        goto fail;
    a->release = (PyObject *)rel;
    rel = NULL;
    a->socket = Py_NewRef(socket);
    a->name = Py_NewRef(name);
    a->mode = cattach_mode(st, mode);
    a->mmap = mv;
    mv = NULL;
    a->array = handle;
    a->closed = 0;
    a->info_cache = NULL;
    a->server_id = NULL;
    a->shape = cattach_shape(info);
    /* A record's dtype comes from its description (numpy's list form), any other's
     * from its typestr: the factory, _info.numpy_dtype, takes either. */
    a->dtype = cattach_dtype(st, info->descr_len ? sharr_array_descr(handle) : info->dtype);
    a->address = PyLong_FromVoidPtr(data);
    a->order = PyUnicode_FromStringAndSize(&info->order, 1);
    a->offset = PyLong_FromUnsignedLongLong(info->offset);
    a->path = info->path[0] != '\0' ? PyUnicode_DecodeFSDefault(info->path)
                                    : Py_NewRef(Py_None);
    PyObject_GC_Track((PyObject *)a);
    if (a->shape == NULL || a->dtype == NULL || a->address == NULL || a->order == NULL ||
        a->offset == NULL || a->path == NULL)
        goto fail;
    return a;
fail:
    Py_XDECREF(a);
    Py_XDECREF(mv); /* closes the handle if its weakref was made */
    Py_XDECREF(rel);
    if (array != NULL)
        cattach_close(array);
    return NULL;
}

/* The array of class cls over a's whole data, as memmap._over makes it: base the
 * memoryview, and the attributes numpy.memmap has (_mmap, filename, offset, mode)
 * plus _sharr, the attachment. */
static PyObject *cattach_array(struct cattach_state *st, PyTypeObject *cls,
                               cattach_attachment *a)
{
    const struct sharr_info *info = sharr_array_info(a->array);
    npy_intp dims[SHARR_NDIM_MAX];
    int flags = info->order == 'F' ? NPY_ARRAY_F_CONTIGUOUS : NPY_ARRAY_C_CONTIGUOUS;
    PyObject *arr, *dict;
    int rc;

    for (int i = 0; i < info->ndim; i++)
        dims[i] = (npy_intp)info->shape[i];
    flags |= NPY_ARRAY_ALIGNED;
    if (strcmp(sharr_array_mode(a->array), "r") != 0)
        flags |= NPY_ARRAY_WRITEABLE;
    Py_INCREF(a->dtype); /* PyArray_NewFromDescr steals it */
    arr = PyArray_NewFromDescr(cls, (PyArray_Descr *)a->dtype, info->ndim, dims, NULL,
                               sharr_array_data(a->array), flags, NULL);
    if (arr == NULL)
        return NULL;
    if (PyArray_SetBaseObject((PyArrayObject *)arr, Py_NewRef(a->mmap)) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    /* Straight into the instance dict: these names are plain class attributes of
     * memmap and numpy.memmap (no descriptors), so this is what setattr would do,
     * without its five lookups through the class. */
    dict = PyObject_GenericGetDict(arr, NULL);
    if (dict == NULL) {
        Py_DECREF(arr);
        return NULL;
    }
    rc = PyDict_SetItem(dict, st->str_sharr, (PyObject *)a) < 0 ||
         PyDict_SetItem(dict, st->str_mmap, a->mmap) < 0 ||
         PyDict_SetItem(dict, st->str_filename, a->path) < 0 ||
         PyDict_SetItem(dict, st->str_offset, a->offset) < 0 ||
         PyDict_SetItem(dict, st->str_mode, a->mode) < 0;
    Py_DECREF(dict);
    if (rc) {
        Py_DECREF(arr);
        return NULL;
    }
    return arr;
}

/* Raise the exception _errors.from_result(rc, name) makes; returns NULL. */
static PyObject *cattach_raise(struct cattach_state *st, int rc, PyObject *name)
{
    PyObject *exc = PyObject_CallFunction(st->error_factory, "iO", rc, name);

    if (exc == NULL)
        return NULL;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

/* The C string of a name given as str or bytes (NUL refused), borrowed from it. */
static const char *cattach_name(PyObject *name)
{
    const char *s;
    Py_ssize_t len;

    if (PyUnicode_Check(name)) {
        s = PyUnicode_AsUTF8AndSize(name, &len);
    } else if (PyBytes_Check(name)) {
        s = PyBytes_AS_STRING(name);
        len = PyBytes_GET_SIZE(name);
    } else {
        PyErr_Format(PyExc_TypeError, "array name must be str, not %.100s",
                     Py_TYPE(name)->tp_name);
        return NULL;
    }
    if (s != NULL && (size_t)len != strlen(s)) {
        PyErr_SetString(PyExc_ValueError, "array name contains a NUL byte");
        return NULL;
    }
    return s;
}

PyDoc_STRVAR(cattach_attach_doc,
"attach(cls, socket, conn, name, mode, wait_ms=0, owner=-1, flags=0, cname=None)\n"
"--\n\n"
"Attach the existing array name (str or bytes; cname, if given, the bytes to send\n"
"instead) on conn (a sharr_t * as int, for the daemon at socket) in mode 'r', 'r+'\n"
"or 'c' and return an array of class cls (a numpy.memmap subclass) over its data.\n"
"wait_ms as sharr_open_opts (0: no wait, -1: for ever); owner the uid the array must\n"
"belong to (-1: any); flags SHARR_F_* (SHARR_F_POPULATE). Raises the daemon's error.");

static PyObject *cattach_attach(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    struct cattach_state *st = cattach_state(module);
    struct sharr_open_opts opts = {.size = sizeof(opts)};
    sharr_array_t *array = NULL;
    cattach_attachment *a;
    PyObject *arr;
    const char *cname, *mode;
    sharr_t *conn;
    long long owner = -1;
    int rc;

    if (nargs < 5 || nargs > 9) {
        PyErr_SetString(PyExc_TypeError, "attach() takes 5 to 9 arguments");
        return NULL;
    }
    if (!PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], &PyArray_Type)) {
        PyErr_SetString(PyExc_TypeError, "attach(): cls must be an ndarray subclass");
        return NULL;
    }
    conn = PyLong_AsVoidPtr(args[2]);
    if (conn == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "attach(): no connection");
        return NULL;
    }
    cname = cattach_name(nargs > 8 && args[8] != Py_None ? args[8] : args[3]);
    if (cname == NULL)
        return NULL;
    mode = PyUnicode_AsUTF8(args[4]);
    if (mode == NULL)
        return NULL;
    if (nargs > 5 && (opts.wait_ms = PyLong_AsLongLong(args[5])) == -1 && PyErr_Occurred())
        return NULL;
    if (nargs > 6 && (owner = PyLong_AsLongLong(args[6])) == -1 && PyErr_Occurred())
        return NULL;
    if (nargs > 7 && (opts.flags = PyLong_AsLong(args[7])) == -1 && PyErr_Occurred())
        return NULL;
    if (owner >= 0) {
        if (owner > UINT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "attach(): owner out of range");
            return NULL;
        }
        opts.flags |= SHARR_F_OWNER;
        opts.owner = (uint32_t)owner;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = sharr_open(conn, cname, mode, &opts, &array);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return cattach_raise(st, rc, args[3]);
    a = cattach_wrap(st, st->attachment_type, args[1], args[3], array);
    if (a == NULL)
        return NULL;
    arr = cattach_array(st, (PyTypeObject *)args[0], a);
    Py_DECREF(a);
    return arr;
}

PyDoc_STRVAR(cattach_wrap_doc,
"wrap(socket, name, ptr)\n"
"--\n\n"
"The Attachment of the libsharr handle ptr (a sharr_array_t * as int, which it takes\n"
"over: closed when the memoryview of its mapping is garbage, or at once on error).");

static PyObject *cattach_wrap_py(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    struct cattach_state *st = cattach_state(module);
    sharr_array_t *array;

    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "wrap() takes 3 arguments");
        return NULL;
    }
    array = PyLong_AsVoidPtr(args[2]);
    if (array == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "wrap(): no handle");
        return NULL;
    }
    return (PyObject *)cattach_wrap(st, st->attachment_type, args[0], args[1], array);
}

PyDoc_STRVAR(cattach_refresh_doc,
"refresh(attachment)\n"
"--\n\n"
"sharr_array_refresh of the attachment's handle: the Attachment that describes the\n"
"array's current length, which is attachment itself when its mapping already covers\n"
"it, else a new one over the handle's new mapping (same handle, same release: the\n"
"handle is closed when the memoryviews of both are garbage). The attachment keeps\n"
"its own memoryview, valid as before. Raises the library's error. The caller\n"
"serialises refreshes and syncs of one handle; the GIL is held throughout.");

static PyObject *cattach_refresh(PyObject *module, PyObject *arg)
{
    struct cattach_state *st = cattach_state(module);
    cattach_attachment *a = (cattach_attachment *)arg, *n;
    const struct sharr_info *info;
    Py_buffer *view;
    char *data;
    int rc;

    if (!PyObject_TypeCheck(arg, st->attachment_type)) {
        PyErr_SetString(PyExc_TypeError, "refresh(): not an Attachment");
        return NULL;
    }
    /* The GIL stays held: a pread and an mremap, and no other Python thread may touch
     * the handle's mapping fields meanwhile. */
    rc = sharr_array_refresh(a->array);
    if (rc < 0)
        return cattach_raise(st, rc, a->name);
    info = sharr_array_info(a->array);
    data = sharr_array_data(a->array);
    view = PyMemoryView_GET_BUFFER(a->mmap);
    if ((uint64_t)view->len == info->offset + info->nbytes &&
        (char *)view->buf == data - info->offset)
        return Py_NewRef(arg);
    if (info->offset + info->nbytes > (uint64_t)PY_SSIZE_T_MAX) {
        PyErr_SetString(PyExc_OverflowError, "sharr: the array grew too large for this process");
        return NULL;
    }
    n = PyObject_GC_New(cattach_attachment, Py_TYPE(arg));
    if (n == NULL)
        return NULL;
    n->socket = Py_NewRef(a->socket);
    n->name = Py_NewRef(a->name);
    n->mode = Py_NewRef(a->mode);
    n->dtype = Py_NewRef(a->dtype);
    n->order = Py_NewRef(a->order);
    n->offset = Py_NewRef(a->offset);
    n->path = Py_NewRef(a->path);
    n->release = Py_NewRef(a->release);
    n->info_cache = NULL;
    n->server_id = Py_XNewRef(a->server_id);
    n->closed = 0;
    n->array = a->array;
    n->mmap = cattach_watched_view((cattach_release *)a->release, data - info->offset,
                                   (Py_ssize_t)(info->offset + info->nbytes),
                                   view->readonly ? PyBUF_READ : PyBUF_WRITE);
    n->shape = cattach_shape(info);
    n->address = PyLong_FromVoidPtr(data);
    PyObject_GC_Track((PyObject *)n);
    if (n->mmap == NULL || n->shape == NULL || n->address == NULL) {
        Py_DECREF(n);
        return NULL;
    }
    return (PyObject *)n;
}

PyDoc_STRVAR(cattach_setup_doc,
"setup(attachment_type, error_factory, dtype_factory)\n"
"--\n\n"
"Set the Attachment subclass that attach() and wrap() make, the function that turns\n"
"a negative result into an exception (rc, name) and the one that turns a typestr\n"
"(bytes) into a numpy dtype. Called once, by sharr._attachment at import.");

static PyObject *cattach_setup(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    struct cattach_state *st = cattach_state(module);
    PyTypeObject *base;

    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "setup() takes 3 arguments");
        return NULL;
    }
    base = st->attachment_type;
    /* A subclass adds methods only: attach() fills the base's fields, nothing else. */
    if (!PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], base) ||
        ((PyTypeObject *)args[0])->tp_basicsize != base->tp_basicsize) {
        PyErr_SetString(PyExc_TypeError, "setup(): not a subclass of Attachment with "
                                         "__slots__ = ()");
        return NULL;
    }
    st->attachment_type = (PyTypeObject *)Py_NewRef(args[0]);
    Py_DECREF(base);
    Py_XSETREF(st->error_factory, Py_NewRef(args[1]));
    Py_XSETREF(st->dtype_factory, Py_NewRef(args[2]));
    Py_RETURN_NONE;
}

PyDoc_STRVAR(cattach_open_address_doc,
"open_address()\n"
"--\n\n"
"The address of the sharr_open this extension calls: equal to the ctypes binding's\n"
"when both use the same libsharr (a handle may pass from one to the other).");

static PyObject *cattach_open_address(PyObject *module, PyObject *unused)
{
    int (*fn)(sharr_t *, const char *, const char *, const struct sharr_open_opts *,
              sharr_array_t **) = sharr_open;
    void *p;

    (void)module;
    (void)unused;
    memcpy(&p, &fn, sizeof(p));
    return PyLong_FromVoidPtr(p);
}

static PyMethodDef cattach_methods[] = {
    {"attach", (PyCFunction)(void (*)(void))cattach_attach, METH_FASTCALL, cattach_attach_doc},
    {"wrap", (PyCFunction)(void (*)(void))cattach_wrap_py, METH_FASTCALL, cattach_wrap_doc},
    {"refresh", cattach_refresh, METH_O, cattach_refresh_doc},
    {"setup", (PyCFunction)(void (*)(void))cattach_setup, METH_FASTCALL, cattach_setup_doc},
    {"open_address", cattach_open_address, METH_NOARGS, cattach_open_address_doc},
    {NULL, NULL, 0, NULL},
};

static int cattach_traverse(PyObject *module, visitproc visit, void *arg)
{
    struct cattach_state *st = cattach_state(module);

    Py_VISIT(st->attachment_type);
    Py_VISIT(st->release_type);
    Py_VISIT(st->error_factory);
    Py_VISIT(st->dtype_factory);
    for (size_t i = 0; i < st->ndtypes; i++)
        Py_VISIT(st->dtypes[i].dtype);
    return 0;
}

static int cattach_clear(PyObject *module)
{
    struct cattach_state *st = cattach_state(module);

    Py_CLEAR(st->attachment_type);
    Py_CLEAR(st->release_type);
    Py_CLEAR(st->error_factory);
    Py_CLEAR(st->dtype_factory);
    Py_CLEAR(st->str_sharr);
    Py_CLEAR(st->str_mmap);
    Py_CLEAR(st->str_filename);
    Py_CLEAR(st->str_offset);
    Py_CLEAR(st->str_mode);
    for (size_t i = 0; i < 4; i++)
        Py_CLEAR(st->modes[i]);
    for (size_t i = 0; i < st->ndtypes; i++)
        Py_CLEAR(st->dtypes[i].dtype);
    st->ndtypes = 0;
    return 0;
}

static void cattach_free(void *module)
{
    (void)cattach_clear(module);
}

static struct PyModuleDef cattach_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sharr._cattach",
    .m_doc = "Attach a sharr array and build its numpy array in one call (see cattach.c).",
    .m_size = sizeof(struct cattach_state),
    .m_methods = cattach_methods,
    .m_traverse = cattach_traverse,
    .m_clear = cattach_clear,
    .m_free = cattach_free,
};

PyMODINIT_FUNC PyInit__cattach(void)
{
    static const char *const modes[4] = {"r", "r+", "w+", "c"};
    struct cattach_state *st;
    PyObject *m;

    import_array();
    m = PyModule_Create(&cattach_module);
    if (m == NULL)
        return NULL;
    st = cattach_state(m);
    memset(st, 0, sizeof(*st));
    st->attachment_type = (PyTypeObject *)PyType_FromSpec(&cattach_attachment_spec);
    st->release_type = (PyTypeObject *)PyType_FromSpec(&cattach_release_spec);
    st->error_factory = Py_NewRef(Py_None);
    st->dtype_factory = Py_NewRef(Py_None);
    st->str_sharr = PyUnicode_InternFromString("_sharr");
    st->str_mmap = PyUnicode_InternFromString("_mmap");
    st->str_filename = PyUnicode_InternFromString("filename");
    st->str_offset = PyUnicode_InternFromString("offset");
    st->str_mode = PyUnicode_InternFromString("mode");
    for (size_t i = 0; i < 4; i++)
        st->modes[i] = PyUnicode_InternFromString(modes[i]);
    if (st->attachment_type == NULL || st->release_type == NULL || st->str_sharr == NULL ||
        st->str_mmap == NULL || st->str_filename == NULL || st->str_offset == NULL ||
        st->str_mode == NULL || st->modes[0] == NULL || st->modes[1] == NULL ||
        st->modes[2] == NULL || st->modes[3] == NULL ||
        PyModule_AddObjectRef(m, "Attachment", (PyObject *)st->attachment_type) < 0 ||
        PyModule_AddIntConstant(m, "F_POPULATE", SHARR_F_POPULATE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
