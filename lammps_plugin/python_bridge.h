// Helpers shared by alloykit's Python-calling styles (pair_style mliap/unified and
// compute mliap/unified/atom): starting Python under `lmp`, turning a Python exception into
// one LAMMPS error line, and lending LAMMPS memory to Python as memoryviews (no copies).
// Defined in pair_mliap_unified.cpp.
#ifndef ALLOYKIT_PYTHON_BRIDGE_H
#define ALLOYKIT_PYTHON_BRIDGE_H

#include <mpi.h>

#include <cstddef>
#include <string>
#include <vector>

typedef struct _object PyObject;
namespace LAMMPS_NS {
class Error;
}

namespace alloykit_py {

void ensure_python();                        // start the interpreter if nobody has (GIL released)
std::string take_error();                    // pending exception as "Type: message", cleared
PyObject *view(void *ptr, size_t nbytes);    // writable memoryview; empty for nullptr/0
bool python_finalizing();

// iface.compute(args) (GIL held; args may be null after a failed build, and is released):
// "" or the Python error as one line
std::string call_compute(PyObject *iface, PyObject *args);

// A model may fail on one rank only (its own atoms): agree before stopping, so that every
// rank raises the error instead of one rank hanging in the next collective.
void stop_if_failed(LAMMPS_NS::Error *error, MPI_Comm world, std::string err, const char *style);

template <typename T> PyObject *view(std::vector<T> &v, size_t n)
{
  return view(v.data(), n * sizeof(T));
}

}    // namespace alloykit_py

#endif
