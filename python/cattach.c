/* cattach.c — sharr._cattach, the CPython extension that attaches an array and builds
 * its numpy array in one call: sharr_open, the memoryview of the mapping, the
 * Attachment record and the ndarray of the caller's class, with no Python in between.
 *
 * This file is the module: its functions, their arguments, its state and setup. It
 * speaks no protocol: every request goes through libsharr (the same library the
 * ctypes binding, _lib.py, loads). The rest of the package (argument checks, errors,
 * pickling) stays in Python. cattach.h says what the other files own.
 */
#define CATTACH_NUMPY_IMPORT /* this file holds numpy's C API table (cattach.h) */
#include "cattach.h"

#include <stdint.h>
#include <string.h>

struct cattach_state *cattach_state(PyObject *module)
{
    return (struct cattach_state *)PyModule_GetState(module);
}

/* Raise the exception _errors.from_result(rc, name) makes; returns NULL. */
PyObject *cattach_raise(struct cattach_state *st, int rc, PyObject *name)
{
    PyObject *exc = PyObject_CallFunction(st->error_factory, "iO", rc, name);

    if (exc == NULL)
        return NULL;
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    return NULL;
}

/* The C string of a name given as str or bytes (NUL refused), borrowed from it. */
const char *cattach_name(PyObject *name)
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

void *cattach_pointer(PyObject *o, const char *what)
{
    void *p = PyLong_AsVoidPtr(o);

    if (p == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, what);
    return p;
}

int cattach_nargs(const char *fn, Py_ssize_t nargs, Py_ssize_t min, Py_ssize_t max)
{
    if (nargs >= min && nargs <= max)
        return 0;
    if (min == max)
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments", fn, min);
    else
        PyErr_Format(PyExc_TypeError, "%s() takes %zd to %zd arguments", fn, min, max);
    return -1;
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
    const char *cname, *mode;
    sharr_t *conn;
    long long owner = -1;

    if (cattach_nargs("attach", nargs, 5, 9) < 0)
        return NULL;
    if (!PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], &PyArray_Type)) {
        PyErr_SetString(PyExc_TypeError, "attach(): cls must be an ndarray subclass");
        return NULL;
    }
    conn = cattach_pointer(args[2], "attach(): no connection");
    if (conn == NULL)
        return NULL;
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
    return cattach_open(st, (PyTypeObject *)args[0], args[1], conn, args[3], cname, mode,
                        &opts);
}

PyDoc_STRVAR(cattach_wrap_doc,
"wrap(socket, name, ptr)\n"
"--\n\n"
"The Attachment of the libsharr handle ptr (a sharr_array_t * as int, which it takes\n"
"over: closed when the memoryview of its mapping is garbage, or at once on error).");

static PyObject *cattach_wrap_py(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    sharr_array_t *array;

    if (cattach_nargs("wrap", nargs, 3, 3) < 0)
        return NULL;
    array = cattach_pointer(args[2], "wrap(): no handle");
    if (array == NULL)
        return NULL;
    return (PyObject *)cattach_wrap(cattach_state(module), args[0], args[1], array);
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
    cattach_attachment *a = (cattach_attachment *)arg;
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
    return cattach_refreshed(a);
}

PyDoc_STRVAR(cattach_setup_doc,
"setup(attachment_type, error_factory, dtype_factory, find, found, environ)\n"
"--\n\n"
"Set the Attachment subclass that attach() and wrap() make, the function that turns\n"
"a negative result into an exception (rc, name), the one that turns a typestr\n"
"(bytes) into a numpy dtype, and for New: _connection.find, its cache _found (a\n"
"dict) and os.environ._data (a dict). Called once, by sharr._attachment at import.");

static PyObject *cattach_setup(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    struct cattach_state *st = cattach_state(module);
    PyTypeObject *base;

    if (cattach_nargs("setup", nargs, 6, 6) < 0)
        return NULL;
    if (!PyDict_CheckExact(args[4]) || !PyDict_CheckExact(args[5])) {
        PyErr_SetString(PyExc_TypeError, "setup(): found and environ must be dicts");
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
    Py_XSETREF(st->find, Py_NewRef(args[3]));
    Py_XSETREF(st->found, Py_NewRef(args[4]));
    Py_XSETREF(st->environ, Py_NewRef(args[5]));
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

PyDoc_STRVAR(cattach_array_finalize_doc,
"array_finalize()\n"
"--\n\n"
"What memmap.__array_finalize__ is with the extension: a method of ndarray that does\n"
"nothing for an array made over a buffer or from a plain ndarray and calls the\n"
"class's _array_finalize(obj) (the Python rule) for any other.");

static PyObject *cattach_array_finalize(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return cattach_finalize_new();
}

static PyMethodDef cattach_methods[] = {
    {"attach", (PyCFunction)(void (*)(void))cattach_attach, METH_FASTCALL, cattach_attach_doc},
    {"wrap", (PyCFunction)(void (*)(void))cattach_wrap_py, METH_FASTCALL, cattach_wrap_doc},
    {"refresh", cattach_refresh, METH_O, cattach_refresh_doc},
    {"setup", (PyCFunction)(void (*)(void))cattach_setup, METH_FASTCALL, cattach_setup_doc},
    {"open_address", cattach_open_address, METH_NOARGS, cattach_open_address_doc},
    {"array_finalize", cattach_array_finalize, METH_NOARGS, cattach_array_finalize_doc},
    {NULL, NULL, 0, NULL},
};

static int cattach_traverse(PyObject *module, visitproc visit, void *arg)
{
    struct cattach_state *st = cattach_state(module);

    Py_VISIT(st->attachment_type);
    Py_VISIT(st->release_type);
    Py_VISIT(st->error_factory);
    Py_VISIT(st->dtype_factory);
    Py_VISIT(st->new_type);
    Py_VISIT(st->close_type);
    Py_VISIT(st->find);
    Py_VISIT(st->found);
    Py_VISIT(st->environ);
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
    Py_CLEAR(st->new_type);
    Py_CLEAR(st->close_type);
    Py_CLEAR(st->find);
    Py_CLEAR(st->found);
    Py_CLEAR(st->environ);
    Py_CLEAR(st->bytes_socket_env);
    Py_CLEAR(st->str_sharr);
    Py_CLEAR(st->str_mmap);
    Py_CLEAR(st->str_filename);
    Py_CLEAR(st->str_offset);
    Py_CLEAR(st->str_mode);
    Py_CLEAR(st->str_closed);
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
    st->attachment_type = cattach_attachment_type_new(m);
    st->release_type = cattach_release_type_new(m);
    st->new_type = cattach_new_type_new(m);
    st->close_type = cattach_close_type_new(m);
    st->error_factory = Py_NewRef(Py_None);
    st->dtype_factory = Py_NewRef(Py_None);
    st->find = Py_NewRef(Py_None);
    st->found = PyDict_New();
    st->environ = PyDict_New();
    st->bytes_socket_env = PyBytes_FromString("SHARR_SOCKET");
    st->str_sharr = PyUnicode_InternFromString("_sharr");
    st->str_mmap = PyUnicode_InternFromString("_mmap");
    st->str_filename = PyUnicode_InternFromString("filename");
    st->str_offset = PyUnicode_InternFromString("offset");
    st->str_mode = PyUnicode_InternFromString("mode");
    st->str_closed = PyUnicode_InternFromString("closed");
    for (size_t i = 0; i < 4; i++)
        st->modes[i] = PyUnicode_InternFromString(modes[i]);
    if (st->attachment_type == NULL || st->release_type == NULL || st->new_type == NULL ||
        st->close_type == NULL || st->str_closed == NULL ||
        st->found == NULL || st->environ == NULL || st->bytes_socket_env == NULL ||
        st->str_sharr == NULL ||
        st->str_mmap == NULL || st->str_filename == NULL || st->str_offset == NULL ||
        st->str_mode == NULL || st->modes[0] == NULL || st->modes[1] == NULL ||
        st->modes[2] == NULL || st->modes[3] == NULL ||
        PyModule_AddObjectRef(m, "Attachment", (PyObject *)st->attachment_type) < 0 ||
        PyModule_AddObjectRef(m, "New", (PyObject *)st->new_type) < 0 ||
        PyModule_AddObjectRef(m, "Close", (PyObject *)st->close_type) < 0 ||
        PyModule_AddIntConstant(m, "F_POPULATE", SHARR_F_POPULATE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
