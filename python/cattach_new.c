/* cattach_new.c — sharr._cattach.New, what memmap.__new__ is with the extension: the
 * usual attach (a name, a mode, perhaps a socket; nothing else to check) parsed and
 * done here, with no Python frame; every other call goes to memmap's Python __new__
 * as it was given, which owns the rules (argument checks, 'w+', owner, wait, ...).
 * The attach itself is cattach_array.c's.
 */
#include "cattach.h"

#include <structmember.h>

/* The parameters of memmap.__new__ this file takes, in its order: cls and the
 * positional ones (numpy.memmap's), then the keywords socket and wait. */
enum {
    NEW_CLS, NEW_NAME, NEW_DTYPE, NEW_MODE, NEW_OFFSET, NEW_SHAPE, NEW_ORDER,
    NEW_POSITIONAL, /* positional parameters end here */
    NEW_SOCKET = NEW_POSITIONAL, NEW_WAIT,
    NEW_PARAMS
};

static const char *const new_param_names[NEW_PARAMS] = {
    "cls", "name", "dtype", "mode", "offset", "shape", "order", "socket", "wait",
};

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *module;             /* sharr._cattach, whose state this reads */
    PyObject *slow;               /* memmap's Python __new__: every other call */
    PyObject *modes;              /* _array._MODES: a mode as given -> its short form */
    PyObject *params[NEW_PARAMS]; /* the parameters' names, interned */
} cattach_new;

/* The (path, conn) of the socket argument (NULL: not given): from _connection._found,
 * keyed as _connection.find keys it, else find's own answer. A new reference. */
static PyObject *new_find(struct cattach_state *st, PyObject *socket)
{
    PyObject *key = NULL, *found;

    if (socket == NULL || socket == Py_None) {
        socket = Py_None;
        key = PyDict_GetItemWithError(st->environ, st->bytes_socket_env);
    } else if (PyUnicode_CheckExact(socket) || PyBytes_CheckExact(socket)) {
        key = socket;
    }
    found = key != NULL ? PyDict_GetItemWithError(st->found, key) : NULL;
    if (found != NULL)
        return Py_NewRef(found);
    if (PyErr_Occurred())
        return NULL;
    return PyObject_CallOneArg(st->find, socket);
}

/* The usual attach, or NULL without an exception when the call is another kind. */
static PyObject *new_usual(cattach_new *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    struct cattach_state *st = cattach_state(self->module);
    struct sharr_open_opts opts = {.size = sizeof(opts)};
    PyObject *given[NEW_PARAMS] = {NULL};
    PyObject *mode, *found, *arr;
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    const char *cname, *cmode;
    sharr_t *conn;
    long offset;
    int overflow;

    if (nargs <= NEW_NAME || nargs > NEW_POSITIONAL)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++)
        given[i] = args[i];
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *kw = PyTuple_GET_ITEM(kwnames, i);
        int p = NEW_NAME;

        while (p < NEW_PARAMS && self->params[p] != kw)
            p++;
        if (p == NEW_PARAMS || given[p] != NULL)
            return NULL; /* another keyword, or one given twice: Python says which */
        given[p] = args[nargs + i];
    }
    if (!PyType_Check(given[NEW_CLS]) ||
        !PyType_IsSubtype((PyTypeObject *)given[NEW_CLS], &PyArray_Type))
        return NULL;
    for (int p = NEW_DTYPE; p < NEW_PARAMS; p++)
        if (p != NEW_MODE && p != NEW_OFFSET && p != NEW_SOCKET && given[p] != NULL &&
            given[p] != Py_None)
            return NULL;
    if (given[NEW_OFFSET] != NULL &&
        (!PyLong_CheckExact(given[NEW_OFFSET]) ||
         (offset = PyLong_AsLongAndOverflow(given[NEW_OFFSET], &overflow)) != 0 || overflow))
        return NULL;
    mode = st->modes[1]; /* 'r+', numpy's default */
    if (given[NEW_MODE] != NULL) {
        if (!PyUnicode_CheckExact(given[NEW_MODE]))
            return NULL;
        mode = PyDict_GetItemWithError(self->modes, given[NEW_MODE]);
        /* Unknown, or 'w+' (a create), known by value: _MODES' strings are not
         * interned ('+' is no identifier character). */
        if (mode == NULL || !PyUnicode_CheckExact(mode) ||
            PyUnicode_Compare(mode, st->modes[2]) == 0)
            return NULL;
    }
    found = new_find(st, given[NEW_SOCKET]);
    if (found == NULL)
        return NULL;
    if (!PyTuple_CheckExact(found) || PyTuple_GET_SIZE(found) != 2) {
        Py_DECREF(found);
        PyErr_SetString(PyExc_TypeError, "sharr: find() returned no (path, conn)");
        return NULL;
    }
    conn = cattach_pointer(PyTuple_GET_ITEM(found, 1), "no connection");
    cname = conn != NULL ? cattach_name(given[NEW_NAME]) : NULL;
    cmode = cname != NULL ? PyUnicode_AsUTF8(mode) : NULL;
    arr = cmode != NULL ? cattach_open(st, (PyTypeObject *)given[NEW_CLS],
                                       PyTuple_GET_ITEM(found, 0), conn, given[NEW_NAME],
                                       cname, cmode, &opts)
                        : NULL;
    Py_DECREF(found);
    return arr;
}

static PyObject *new_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                PyObject *kwnames)
{
    cattach_new *self = (cattach_new *)callable;
    PyObject *arr = new_usual(self, args, PyVectorcall_NARGS(nargsf), kwnames);

    if (arr != NULL || PyErr_Occurred())
        return arr;
    return PyObject_Vectorcall(self->slow, args, nargsf, kwnames);
}

static PyObject *new_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    cattach_new *self;
    PyObject *slow, *modes;

    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
        PyErr_SetString(PyExc_TypeError, "New() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OO!:New", &slow, &PyDict_Type, &modes))
        return NULL;
    self = PyObject_GC_New(cattach_new, type);
    if (self == NULL)
        return NULL;
    self->vectorcall = new_vectorcall;
    self->module = Py_NewRef(PyType_GetModule(type));
    self->slow = Py_NewRef(slow);
    self->modes = Py_NewRef(modes);
    for (int p = 0; p < NEW_PARAMS; p++)
        self->params[p] = PyUnicode_InternFromString(new_param_names[p]);
    PyObject_GC_Track((PyObject *)self);
    for (int p = 0; p < NEW_PARAMS; p++) {
        if (self->params[p] == NULL) {
            Py_DECREF(self);
            return NULL;
        }
    }
    return (PyObject *)self;
}

static int new_traverse(PyObject *op, visitproc visit, void *arg)
{
    cattach_new *self = (cattach_new *)op;

    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->module);
    Py_VISIT(self->slow);
    Py_VISIT(self->modes);
    return 0;
}

static int new_clear(PyObject *op)
{
    cattach_new *self = (cattach_new *)op;

    Py_CLEAR(self->module);
    Py_CLEAR(self->slow);
    Py_CLEAR(self->modes);
    return 0;
}

static void new_dealloc(PyObject *op)
{
    cattach_new *self = (cattach_new *)op;
    PyTypeObject *type = Py_TYPE(op);

    PyObject_GC_UnTrack(op);
    (void)new_clear(op);
    for (int p = 0; p < NEW_PARAMS; p++)
        Py_XDECREF(self->params[p]);
    type->tp_free(op);
    Py_DECREF(type);
}

static PyMemberDef new_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(cattach_new, vectorcall), READONLY, NULL},
    /* inspect.signature follows __wrapped__: memmap's signature is its Python __new__'s. */
    {"__wrapped__", T_OBJECT, offsetof(cattach_new, slow), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot new_slots[] = {
    {Py_tp_new, (void *)new_new},
    {Py_tp_call, (void *)PyVectorcall_Call},
    {Py_tp_dealloc, (void *)new_dealloc},
    {Py_tp_traverse, (void *)new_traverse},
    {Py_tp_clear, (void *)new_clear},
    {Py_tp_members, (void *)new_members},
    {Py_tp_doc, (void *)"New(new, modes): memmap.__new__, which attaches by name here in "
                        "the usual case and calls new (the Python __new__) otherwise; modes "
                        "maps a mode as given to 'r', 'r+', 'w+' or 'c'."},
    {0, NULL},
};

static PyType_Spec new_spec = {
    .name = "sharr._cattach.New",
    .basicsize = sizeof(cattach_new),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .slots = new_slots,
};

PyTypeObject *cattach_new_type_new(PyObject *module)
{
    return (PyTypeObject *)PyType_FromModuleAndSpec(module, &new_spec, NULL);
}
