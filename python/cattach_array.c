/* cattach_array.c — the numpy array over an attachment, as memmap._over makes it, and
 * the attach that ends in one (sharr_open, the Attachment, the array); also
 * memmap.__array_finalize__'s case that needs no Python (an array made over a buffer).
 * Where the arguments come from is cattach.c's (attach) and cattach_new.c's (__new__).
 */
#include "cattach.h"

#include <errno.h>
#include <string.h>

/* The array of class cls over a's whole data, as memmap._over makes it: base the
 * memoryview, and the attributes numpy.memmap has (_mmap, filename, offset, mode)
 * plus _sharr, the attachment. */
static PyObject *cattach_array(struct cattach_state *st, PyTypeObject *cls,
                               cattach_attachment *a)
{
    const struct sharr_info *info = sharr_array_info(a->array);
    npy_intp dims[SHARR_NDIM_MAX];
    int flags = info->order == 'F' ? NPY_ARRAY_F_CONTIGUOUS : NPY_ARRAY_C_CONTIGUOUS;
    PyObject *arr;

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
    /* Plain class attributes of memmap and numpy.memmap (no descriptors): set as
     * setattr would, into the instance's values where the class shares its keys. */
    if (PyObject_GenericSetAttr(arr, st->str_sharr, (PyObject *)a) < 0 ||
        PyObject_GenericSetAttr(arr, st->str_mmap, a->mmap) < 0 ||
        PyObject_GenericSetAttr(arr, st->str_filename, a->path) < 0 ||
        PyObject_GenericSetAttr(arr, st->str_offset, a->offset) < 0 ||
        PyObject_GenericSetAttr(arr, st->str_mode, a->mode) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    return arr;
}

PyObject *cattach_open(struct cattach_state *st, PyTypeObject *cls, PyObject *socket,
                       sharr_t *conn, PyObject *name, const char *cname, const char *mode,
                       const struct sharr_open_opts *opts)
{
    struct sharr_open_opts cached = *opts;
    sharr_array_t *array = NULL;
    cattach_attachment *a;
    PyObject *arr;
    int rc = -EAGAIN;

    /* An attach the cache of attachments serves never blocks: it runs with the GIL
     * held. Anything else (a round trip, a wait) runs without it. */
    cached.flags |= SHARR_F_CACHED_ONLY;
    if (mode[0] == 'r' && !(opts->flags & SHARR_F_POPULATE))
        rc = sharr_open(conn, cname, mode, &cached, &array);
    if (rc == -EAGAIN) {
        Py_BEGIN_ALLOW_THREADS
        rc = sharr_open(conn, cname, mode, opts, &array);
        Py_END_ALLOW_THREADS
    }
    if (rc < 0)
        return cattach_raise(st, rc, name);
    a = cattach_wrap(st, socket, name, array);
    if (a == NULL)
        return NULL;
    arr = cattach_array(st, cls, a);
    Py_DECREF(a);
    return arr;
}

/* memmap.__array_finalize__(self, obj). No obj (an array made over a buffer, as
 * cattach_array and memmap._over make them) or a plain ndarray passes no mapping
 * on, and memmap's class attributes already say so; any other obj is the Python
 * rule's, memmap._array_finalize. */
static PyObject *cattach_finalize(PyObject *self, PyObject *obj)
{
    if (obj == Py_None || Py_TYPE(obj) == &PyArray_Type)
        Py_RETURN_NONE;
    return PyObject_CallMethod(self, "_array_finalize", "O", obj);
}

static PyMethodDef cattach_finalize_def = {
    "__array_finalize__", cattach_finalize, METH_O,
    "Called by numpy on each new array of the class: passes obj's attachment on (see "
    "memmap._array_finalize), with no Python where obj has none.",
};

PyObject *cattach_finalize_new(void)
{
    /* A method of ndarray: numpy calls it unbound with the new array first, and
     * super().__array_finalize__ in a subclass binds it as any method. */
    return PyDescr_NewMethod(&PyArray_Type, &cattach_finalize_def);
}
