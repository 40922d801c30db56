#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "compute_mliap_unified_atom.h"
#include "python_bridge.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "pair.h"
#include "update.h"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstring>

// The wheel ships no neigh_request.h. set_cutoff is a plain (non-virtual) member exported by
// liblammps, so declaring it is enough to call it; nothing else of the class is touched.
namespace LAMMPS_NS {
class NeighRequest {
 public:
  void set_cutoff(double);
};
}    // namespace LAMMPS_NS

using namespace LAMMPS_NS;
using namespace alloykit_py;

/* ----------------------------------------------------------------------
   compute ID group mliap/unified/atom MODEL El1 El2 ... (one element or NULL per type)
   MODEL = LATER (or EXISTS): the model given to alloykit.mliap.load_peratom(lmp, model)
           FILE: a model saved with alloykit.mliap.save_model
---------------------------------------------------------------------- */

ComputeMLIAPUnifiedAtom::ComputeMLIAPUnifiedAtom(LAMMPS *lmp, int narg, char **arg) :
    Compute(lmp, narg, arg), iface(nullptr), cutoff(0.0), ncols(0), list(nullptr), nmax(0),
    values(nullptr)
{
  const int ntypes = atom->ntypes;
  if (narg != 4 + ntypes)
    error->all(FLERR, "compute mliap/unified/atom: expected MODEL and {} element name(s) (one per atom type, "
               "or NULL), got {} argument(s)", ntypes, narg - 3);

  ensure_python();
  std::string err;
  std::vector<std::string> elements;
  PyGILState_STATE gs = PyGILState_Ensure();
  PyObject *mod = PyImport_ImportModule("alloykit.mliap.coupling");
  PyObject *obj = nullptr;
  if (mod) {
    obj = PyObject_CallMethod(mod, "connect_peratom", "Ks", (unsigned long long) (uintptr_t) lmp, arg[3]);
    Py_DECREF(mod);
  }
  if (obj) {
    PyObject *rc = PyObject_GetAttrString(obj, "rcutfac");
    PyObject *el = rc ? PyObject_GetAttrString(obj, "element_types") : nullptr;
    PyObject *nc = el ? PyObject_GetAttrString(obj, "n_outputs") : nullptr;
    if (rc && el && nc) {
      cutoff = 2.0 * PyFloat_AsDouble(rc);
      ncols = (int) PyLong_AsLong(nc);
      Py_ssize_t n = PyList_Size(el);
      for (Py_ssize_t k = 0; k < n; k++) elements.emplace_back(PyUnicode_AsUTF8(PyList_GetItem(el, k)));
    }
    Py_XDECREF(rc);
    Py_XDECREF(el);
    Py_XDECREF(nc);
  }
  if (PyErr_Occurred()) {
    err = take_error();
    Py_XDECREF(obj);
    obj = nullptr;
  }
  iface = obj;
  PyGILState_Release(gs);
  if (!err.empty()) error->all(FLERR, "compute mliap/unified/atom: {}", err);

  std::string known;
  for (auto &e : elements) known += " " + e;
  map.assign(ntypes + 1, -1);
  int used = 0;
  for (int t = 1; t <= ntypes; t++) {
    const char *name = arg[3 + t];
    if (strcmp(name, "NULL") == 0) continue;
    for (size_t k = 0; k < elements.size(); k++)
      if (elements[k] == name) map[t] = (int) k;
    if (map[t] < 0)
      error->all(FLERR, "compute mliap/unified/atom: element '{}' (type {}) is not among the model's "
                 "element_types:{}", name, t, known);
    used++;
  }
  if (used == 0) error->all(FLERR, "compute mliap/unified/atom: every type is NULL");

  peratom_flag = 1;
  size_peratom_cols = ncols;    // the model's n_outputs (>= 1, checked in Python)
}

ComputeMLIAPUnifiedAtom::~ComputeMLIAPUnifiedAtom()
{
  if (iface && Py_IsInitialized() && !python_finalizing()) {
    PyGILState_STATE gs = PyGILState_Ensure();
    Py_DECREF(iface);
    PyGILState_Release(gs);
  }
  memory->destroy(values);
}

void ComputeMLIAPUnifiedAtom::init()
{
  // Every atom within the cutoff of an owned atom must exist here, as an owned atom or a
  // ghost: the ghost shell has to reach cutoff + skin (the list is built with the skin).
  const double skin = neighbor->skin;
  double cutghost = comm->cutghostuser;
  if (force->pair) cutghost = std::max(cutghost, force->pair->cutforce + skin);
  if (cutoff + skin > cutghost)
    error->all(FLERR, "compute mliap/unified/atom: the model's cutoff {:.4g} plus the neighbour skin {:.4g} "
               "exceeds the ghost-atom cutoff {:.4g}; add 'comm_modify cutoff {:.4g}' before the run",
               cutoff, skin, cutghost, std::ceil((cutoff + skin) * 100.0 + 1.0) / 100.0);
  NeighRequest *req = neighbor->add_request(this, NeighConst::REQ_FULL | NeighConst::REQ_OCCASIONAL);
  req->set_cutoff(cutoff + skin);
}

void ComputeMLIAPUnifiedAtom::init_list(int, NeighList *ptr)
{
  list = ptr;
}

void ComputeMLIAPUnifiedAtom::compute_peratom()
{
  invoked_peratom = update->ntimestep;
  if (atom->nmax > nmax) {
    memory->destroy(values);
    nmax = atom->nmax;
    memory->create(values, nmax, ncols, "mliap/unified/atom:values");
    array_atom = values;
  }
  const int nlocal = atom->nlocal;
  if (nlocal) memset(&values[0][0], 0, sizeof(double) * nlocal * ncols);

  // the owned atoms of the group are the list atoms; neighbours are every atom with an
  // element (group or not, ghosts included)
  neighbor->build_one(list);
  pairs.build(atom, list, map.data(), cutoff, groupbit);
  const int nlistatoms = pairs.nlistatoms, npairs = pairs.npairs;
  const int ntotal = nlocal + atom->nghost;
  out.assign((size_t) nlistatoms * ncols, 0.0);

  PyGILState_STATE gs = PyGILState_Ensure();
  PyObject *args = Py_BuildValue(
      "(iiiii)NNNNNNNNNNN", nlistatoms, nlocal, ntotal, npairs, ncols, view(pairs.rij, 3 * (size_t) npairs),
      view(pairs.pair_i, npairs), view(pairs.jatoms, npairs), view(pairs.jelems, npairs),
      view(pairs.jtags, npairs), view(pairs.iatoms, nlistatoms), view(pairs.ielems, nlistatoms),
      view(pairs.numneighs, nlistatoms), view(pairs.elems, ntotal), view(pairs.itags, nlistatoms),
      view(out, (size_t) nlistatoms * ncols));
  std::string err = call_compute(iface, args);
  PyGILState_Release(gs);
  stop_if_failed(error, world, err, "compute mliap/unified/atom");
  for (int ii = 0; ii < nlistatoms; ii++)
    memcpy(values[pairs.iatoms[ii]], &out[(size_t) ii * ncols], sizeof(double) * ncols);
}

double ComputeMLIAPUnifiedAtom::memory_usage()
{
  return (double) nmax * ncols * sizeof(double) +
      (double) (pairs.rij.capacity() + out.capacity()) * sizeof(double);
}
