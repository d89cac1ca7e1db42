/* cattach_attachment.c — the Attachment and Release types of sharr._cattach: one open
 * array (its handle, metadata and the memoryview of its mapping) and the callback that
 * closes the handle when the last memoryview of its mappings is garbage, never before.
 * Building the ndarray over an attachment is cattach_array.c's.
 */
#include "cattach.h"

#include <stdint.h>
#include <string.h>
#include <structmember.h>

void cattach_close(sharr_array_t *array)
{
    /* Errors are dropped: there is no caller left to tell, and the daemon releases
     * what a connection still holds when the connection closes. */
    Py_BEGIN_ALLOW_THREADS
    (void)sharr_close(array);
    Py_END_ALLOW_THREADS
}

/* ---- Release (cattach.h): closes a handle when the memoryview of its mapping goes ---- */

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

PyTypeObject *cattach_release_type_new(PyObject *module)
{
    return (PyTypeObject *)PyType_FromModuleAndSpec(module, &cattach_release_spec, NULL);
}

/* ---- Attachment (cattach.h): one open array in this process ---- */

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

PyTypeObject *cattach_attachment_type_new(PyObject *module)
{
    return (PyTypeObject *)PyType_FromModuleAndSpec(module, &cattach_attachment_spec, NULL);
}

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

cattach_attachment *cattach_wrap(struct cattach_state *st, PyObject *socket,
                                 PyObject *name, sharr_array_t *array)
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
    a = PyObject_GC_New(cattach_attachment, st->attachment_type);
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

PyObject *cattach_refreshed(cattach_attachment *a)
{
    const struct sharr_info *info = sharr_array_info(a->array);
    char *data = sharr_array_data(a->array);
    Py_buffer *view = PyMemoryView_GET_BUFFER(a->mmap);
    cattach_attachment *n;

    if ((uint64_t)view->len == info->offset + info->nbytes &&
        (char *)view->buf == data - info->offset)
        return Py_NewRef((PyObject *)a);
    if (info->offset + info->nbytes > (uint64_t)PY_SSIZE_T_MAX) {
        PyErr_SetString(PyExc_OverflowError, "sharr: the array grew too large for this process");
        return NULL;
    }
    n = PyObject_GC_New(cattach_attachment, Py_TYPE(a));
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
