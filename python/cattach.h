/* cattach.h — what the files of sharr._cattach share: the module's state, the
 * Attachment and Release objects, and the calls between the files.
 *
 * cattach.c is the module (its functions and setup), cattach_attachment.c the
 * Attachment and Release types, cattach_array.c the ndarray built over an attachment,
 * cattach_new.c memmap.__new__'s usual case, cattach_close.c memmap.close. None of them speaks the protocol: every
 * request goes through libsharr.
 */
#ifndef SHARR_PYTHON_CATTACH_H
#define SHARR_PYTHON_CATTACH_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Every file but cattach.c includes numpy's C API without defining it: the one table
 * lives in cattach.c, which imports it at module init. */
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL cattach_numpy_api
#ifndef CATTACH_NUMPY_IMPORT
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include "sharr.h"

/* dtypes kept by typestr: the few dozen in use; past this many, built each time. */
#define CATTACH_DTYPES_MAX 64

/* The module's state: the Python objects it calls back into and its dtype cache. */
struct cattach_state {
    PyTypeObject *attachment_type; /* sharr._cattach.Attachment, or setup()'s subclass */
    PyTypeObject *release_type;    /* sharr._cattach.Release */
    PyTypeObject *new_type;        /* sharr._cattach.New */
    PyTypeObject *close_type;      /* sharr._cattach.Close */
    PyObject *error_factory;       /* _errors.from_result(rc, name) -> exception */
    PyObject *dtype_factory;       /* _info.numpy_dtype(typestr bytes) -> dtype */
    PyObject *find;                /* _connection.find(socket) -> (path, conn) */
    PyObject *found;               /* _connection._found: find's cache, read here */
    PyObject *environ;             /* os.environ._data: encoded names -> values */
    PyObject *str_sharr, *str_mmap, *str_filename, *str_offset, *str_mode, *str_closed;
    PyObject *bytes_socket_env;    /* b"SHARR_SOCKET" */
    PyObject *modes[4];            /* "r", "r+", "w+", "c" */
    size_t ndtypes;
    struct {
        char typestr[SHARR_DTYPE_MAX + 1];
        PyObject *dtype;
    } dtypes[CATTACH_DTYPES_MAX];
};

/* The weakref callback of the memoryviews over one handle's mappings: the attach's,
 * and one more per refresh that found the array longer. The handle is closed when
 * the last of them is collected. This object and the weakrefs in refs refer to each
 * other, so all live until the last callback has run (or the interpreter ends); the
 * Attachments of the handle hold this object too. */
typedef struct {
    PyObject_HEAD
    sharr_array_t *array;
    PyObject *refs;        /* list: the weakrefs of the memoryviews still alive */
} cattach_release;

/* One open array in this process. */
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

/* The state of the module sharr._cattach. */
struct cattach_state *cattach_state(PyObject *module);

/* sharr_close of array with the GIL released; errors dropped (no caller is left to
 * tell, and the daemon releases what a connection holds when it closes). */
void cattach_close(sharr_array_t *array);

/* The types of cattach_attachment.c, cattach_new.c and cattach_close.c, made for module; NULL with an
 * exception set on failure. */
PyTypeObject *cattach_release_type_new(PyObject *module);
PyTypeObject *cattach_attachment_type_new(PyObject *module);
PyTypeObject *cattach_new_type_new(PyObject *module);
PyTypeObject *cattach_close_type_new(PyObject *module);

/* An Attachment of st->attachment_type for array, taking ownership of array (closed
 * on failure). socket and name are kept by reference. NULL with an exception set. */
cattach_attachment *cattach_wrap(struct cattach_state *st, PyObject *socket,
                                 PyObject *name, sharr_array_t *array);

/* The Attachment of a's handle at its current length after sharr_array_refresh: a
 * itself (a new reference) when its mapping covers it, else a new one sharing a's
 * handle and release. NULL with an exception set. */
PyObject *cattach_refreshed(cattach_attachment *a);

/* Attach name (cname its C string) in mode on conn with opts, for the daemon at
 * socket, and return the array of class cls over its data; the daemon's error is
 * raised as _errors.from_result makes it. */
PyObject *cattach_open(struct cattach_state *st, PyTypeObject *cls, PyObject *socket,
                       sharr_t *conn, PyObject *name, const char *cname, const char *mode,
                       const struct sharr_open_opts *opts);

/* Raise the exception _errors.from_result(rc, name) makes; returns NULL. */
PyObject *cattach_raise(struct cattach_state *st, int rc, PyObject *name);

/* The C string of a name given as str or bytes (NUL refused), borrowed from it. */
const char *cattach_name(PyObject *name);

/* The pointer in the int o, which must not be NULL: what says which ("no
 * connection") in the ValueError. NULL with an exception set. */
void *cattach_pointer(PyObject *o, const char *what);

/* 0 when fn's nargs lies within [min, max], else -1 with a TypeError set. */
int cattach_nargs(const char *fn, Py_ssize_t nargs, Py_ssize_t min, Py_ssize_t max);

/* The method descriptor memmap.__array_finalize__ is with the extension: nothing to do
 * for an array made over a buffer or from a plain ndarray, else the class's
 * _array_finalize (the Python rule). NULL with an exception set. */
PyObject *cattach_finalize_new(void);

#endif
