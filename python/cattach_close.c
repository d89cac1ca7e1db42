/* cattach_close.c — sharr._cattach.Close, what memmap.close is with the extension: the
 * Python rule (att = self._sharr; if att is not None: att.closed = True) with no
 * Python frame. A method descriptor, so that a.close() calls it with no bound method
 * made in between; a.close read as an attribute gives a bound method as a Python
 * function's would.
 */
#include "cattach.h"

#include <structmember.h>

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *module; /* sharr._cattach, whose state this reads */
    PyObject *slow;   /* the Python close it stands for: its doc and signature */
} cattach_close_method;

static PyObject *close_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames)
{
    cattach_close_method *self = (cattach_close_method *)callable;
    struct cattach_state *st = cattach_state(self->module);
    PyObject *att;
    int rc = 0;

    if (PyVectorcall_NARGS(nargsf) != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0))
        return PyObject_Vectorcall(self->slow, args, nargsf, kwnames); /* Python says why */
    att = PyObject_GetAttr(args[0], st->str_sharr);
    if (att == NULL)
        return NULL;
    if (Py_IS_TYPE(att, st->attachment_type))
        ((cattach_attachment *)att)->closed = 1;
    else if (att != Py_None)
        rc = PyObject_SetAttr(att, st->str_closed, Py_True);
    Py_DECREF(att);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *close_get(PyObject *self, PyObject *obj, PyObject *type)
{
    (void)type;
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static PyObject *close_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    cattach_close_method *self;
    PyObject *slow;

    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
        PyErr_SetString(PyExc_TypeError, "Close() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O:Close", &slow))
        return NULL;
    self = PyObject_GC_New(cattach_close_method, type);
    if (self == NULL)
        return NULL;
    self->vectorcall = close_vectorcall;
    self->module = Py_NewRef(PyType_GetModule(type));
    self->slow = Py_NewRef(slow);
    PyObject_GC_Track((PyObject *)self);
    return (PyObject *)self;
}

static int close_traverse(PyObject *op, visitproc visit, void *arg)
{
    cattach_close_method *self = (cattach_close_method *)op;

    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->module);
    Py_VISIT(self->slow);
    return 0;
}

static int close_clear(PyObject *op)
{
    cattach_close_method *self = (cattach_close_method *)op;

    Py_CLEAR(self->module);
    Py_CLEAR(self->slow);
    return 0;
}

static void close_dealloc(PyObject *op)
{
    PyTypeObject *type = Py_TYPE(op);

    PyObject_GC_UnTrack(op);
    (void)close_clear(op);
    type->tp_free(op);
    Py_DECREF(type);
}

static PyObject *close_doc(PyObject *op, void *closure)
{
    (void)closure;
    return PyObject_GetAttrString(((cattach_close_method *)op)->slow, "__doc__");
}

static PyMemberDef close_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(cattach_close_method, vectorcall), READONLY,
     NULL},
    /* inspect.signature follows __wrapped__: close's signature is the Python one's. */
    {"__wrapped__", T_OBJECT, offsetof(cattach_close_method, slow), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef close_getset[] = {
    {"__doc__", close_doc, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot close_slots[] = {
    {Py_tp_new, (void *)close_new},
    {Py_tp_call, (void *)PyVectorcall_Call},
    {Py_tp_descr_get, (void *)close_get},
    {Py_tp_dealloc, (void *)close_dealloc},
    {Py_tp_traverse, (void *)close_traverse},
    {Py_tp_clear, (void *)close_clear},
    {Py_tp_members, (void *)close_members},
    {Py_tp_getset, (void *)close_getset},
    {0, NULL},
};

static PyType_Spec close_spec = {
    .name = "sharr._cattach.Close",
    .basicsize = sizeof(cattach_close_method),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
             Py_TPFLAGS_METHOD_DESCRIPTOR,
    .slots = close_slots,
};

PyTypeObject *cattach_close_type_new(PyObject *module)
{
    return (PyTypeObject *)PyType_FromModuleAndSpec(module, &close_spec, NULL);
}
