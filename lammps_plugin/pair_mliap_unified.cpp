#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pair_mliap_unified.h"
#include "python_bridge.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "neigh_list.h"
#include "neighbor.h"

#include <dlfcn.h>
#include <mpi.h>

#include <cstring>

using namespace LAMMPS_NS;
using namespace alloykit_py;

namespace alloykit_py {

// Under the `lmp` executable nobody has started Python: do it here. The `lmp` console
// script is itself Python; alloykit's entry point leaves that interpreter's sys.path in
// ALLOYKIT_SYS_PATH so the embedded interpreter sees the same packages (venv, editable
// installs). Without it, the site-packages folder holding this plugin is used.
static const char *BOOTSTRAP = R"PY(
import os, sys, site
def _alloykit_bootstrap(plugin_file):
    parent = [p for p in os.environ.get('ALLOYKIT_SYS_PATH', '').split(os.pathsep) if p]
    if not parent:
        parent = [os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(plugin_file))))]
    sys.path[:0] = [p for p in parent if p not in sys.path]
    for p in parent:
        if p.endswith('site-packages'):
            site.addsitedir(p)    # runs .pth files (editable installs)
)PY";

void ensure_python()
{
  if (Py_IsInitialized()) return;
  Py_InitializeEx(0);
  Dl_info info;
  std::string self;
  if (dladdr((void *) &ensure_python, &info) && info.dli_fname) self = info.dli_fname;
  PyRun_SimpleString(BOOTSTRAP);
  PyObject *main = PyImport_AddModule("__main__");    // borrowed
  PyObject *fn = PyObject_GetAttrString(main, "_alloykit_bootstrap");
  if (fn) {
    PyObject *r = PyObject_CallFunction(fn, "s", self.c_str());
    Py_XDECREF(r);
    Py_DECREF(fn);
  }
  PyErr_Clear();
  PyEval_SaveThread();    // release the GIL; every call below takes it with PyGILState
}

// The pending Python exception as "Type: message", cleared.
std::string take_error()
{
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  std::string msg = "unknown Python error";
  if (value) {
    PyObject *s = PyObject_Str(value);
    const char *name = type ? ((PyTypeObject *) type)->tp_name : "Error";
    if (s) {
      const char *c = PyUnicode_AsUTF8(s);
      msg = std::string(name) + ": " + (c ? c : "");
      Py_DECREF(s);
    }
  }
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  PyErr_Clear();
  for (auto &ch : msg)
    if (ch == '\n') ch = ' ';    // LAMMPS errors are one line
  return msg;
}

static char empty_buffer[8];

PyObject *view(void *ptr, size_t nbytes)
{
  if (!ptr || nbytes == 0) return PyMemoryView_FromMemory(empty_buffer, 0, PyBUF_WRITE);
  return PyMemoryView_FromMemory((char *) ptr, (Py_ssize_t) nbytes, PyBUF_WRITE);
}

// _Py_IsFinalizing() left the C API in Python 3.13, where Py_IsFinalizing() replaced it
bool python_finalizing()
{
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

std::string call_compute(PyObject *iface, PyObject *args)
{
  PyObject *r = args ? PyObject_CallMethod(iface, "compute", "O", args) : nullptr;
  Py_XDECREF(args);
  Py_XDECREF(r);
  return PyErr_Occurred() ? take_error() : std::string();
}

void stop_if_failed(Error *error, MPI_Comm world, std::string err, const char *style)
{
  int bad = err.empty() ? 0 : 1, anybad = 0;
  MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, world);
  if (anybad) {
    if (err.empty()) err = "the Python model failed on another MPI rank";
    error->all(FLERR, "{}: {}", style, err);
  }
}

}    // namespace alloykit_py

/* ---------------------------------------------------------------------- */

PairMLIAPUnified::PairMLIAPUnified(LAMMPS *lmp) :
    Pair(lmp), iface(nullptr), rcutfac(0.0), map(nullptr), energy(0.0)
{
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  centroidstressflag = CENTROID_NOTAVAIL;
}

PairMLIAPUnified::~PairMLIAPUnified()
{
  if (iface && Py_IsInitialized() && !python_finalizing()) {
    PyGILState_STATE gs = PyGILState_Ensure();
    Py_DECREF(iface);
    PyGILState_Release(gs);
  }
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
    memory->destroy(map);
  }
}

void PairMLIAPUnified::allocate()
{
  allocated = 1;
  int n = atom->ntypes;
  memory->create(setflag, n + 1, n + 1, "pair:setflag");
  memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
  memory->create(map, n + 1, "pair:map");
  for (int i = 0; i <= n; i++) map[i] = -1;
}

/* ----------------------------------------------------------------------
   pair_style mliap/unified SPEC
   SPEC = LATER (or EXISTS): the model given to alloykit.mliap.load_unified(lmp, model)
          FILE: a model saved with alloykit.mliap.save_model
---------------------------------------------------------------------- */

void PairMLIAPUnified::settings(int narg, char **arg)
{
  if (narg != 1)
    error->all(FLERR, "pair_style mliap/unified takes one argument: LATER, EXISTS or a model file");

  ensure_python();
  PyGILState_STATE gs = PyGILState_Ensure();
  std::string err;
  PyObject *mod = PyImport_ImportModule("alloykit.mliap.coupling");
  PyObject *obj = nullptr;
  if (mod) {
    obj = PyObject_CallMethod(mod, "connect", "Ks", (unsigned long long) (uintptr_t) lmp, arg[0]);
    Py_DECREF(mod);
  }
  if (obj) {
    PyObject *rc = PyObject_GetAttrString(obj, "rcutfac");
    PyObject *el = rc ? PyObject_GetAttrString(obj, "element_types") : nullptr;
    if (rc && el) {
      rcutfac = PyFloat_AsDouble(rc);
      elements.clear();
      Py_ssize_t n = PyList_Size(el);
      for (Py_ssize_t k = 0; k < n; k++) elements.emplace_back(PyUnicode_AsUTF8(PyList_GetItem(el, k)));
    }
    Py_XDECREF(rc);
    Py_XDECREF(el);
  }
  if (PyErr_Occurred()) {
    err = take_error();
    Py_XDECREF(obj);
    obj = nullptr;
  }
  if (obj) {
    Py_XDECREF(iface);
    iface = obj;
  }
  PyGILState_Release(gs);
  if (!err.empty()) error->all(FLERR, "pair_style mliap/unified: {}", err);
}

/* ----------------------------------------------------------------------
   pair_coeff * * El1 El2 ... (one element or NULL per atom type)
---------------------------------------------------------------------- */

void PairMLIAPUnified::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  if (narg < 2 || strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR, "pair_coeff for mliap/unified must be: pair_coeff * * <element per atom type>");
  const int ntypes = atom->ntypes;
  if (narg - 2 != ntypes)
    error->all(FLERR, "pair_coeff mliap/unified: {} element name(s) given for {} atom type(s)",
               narg - 2, ntypes);

  std::string known;
  for (auto &e : elements) known += " " + e;
  for (int i = 1; i <= ntypes; i++) {
    const char *name = arg[i + 1];
    map[i] = -1;
    if (strcmp(name, "NULL") == 0) continue;
    for (size_t k = 0; k < elements.size(); k++)
      if (elements[k] == name) map[i] = (int) k;
    if (map[i] < 0)
      error->all(FLERR, "pair_coeff mliap/unified: element '{}' (type {}) is not among the model's element_types:{}",
                 name, i, known);
  }
  int count = 0;
  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) {
      setflag[i][j] = (map[i] >= 0 && map[j] >= 0) ? 1 : 0;
      count += setflag[i][j];
    }
  if (count == 0) error->all(FLERR, "pair_coeff mliap/unified: every type is NULL");
}

void PairMLIAPUnified::init_style()
{
  if (!iface) error->all(FLERR, "pair_style mliap/unified has no model");
  if (force->newton_pair == 0) error->all(FLERR, "pair_style mliap/unified requires newton pair on");
  neighbor->add_request(this, NeighConst::REQ_FULL);
}

double PairMLIAPUnified::init_one(int i, int j)
{
  if (setflag[i][j] == 0) error->all(FLERR, "All pair coeffs are not set");
  return 2.0 * rcutfac;
}

/* ---------------------------------------------------------------------- */

void PairMLIAPUnified::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  pairs.build(atom, list, map, 2.0 * rcutfac);
  const int nlistatoms = pairs.nlistatoms, npairs = pairs.npairs;
  if (eatoms.size() < (size_t) nlistatoms) eatoms.resize(nlistatoms);
  const int nlocal = atom->nlocal;
  const int ntotal = nlocal + atom->nghost;
  energy = 0.0;
  std::fill(eatoms.begin(), eatoms.begin() + nlistatoms, 0.0);

  double *f0 = ntotal ? &atom->f[0][0] : nullptr;
  double *vatom0 = (vflag_atom && ntotal) ? &vatom[0][0] : nullptr;

  PyGILState_STATE gs = PyGILState_Ensure();
  PyObject *args = Py_BuildValue(
      "(iiiiiiii)NNNNNNNNNNNNNN", nlistatoms, nlocal, ntotal, npairs, eflag, vflag, vflag_global,
      vflag_atom, view(pairs.rij, 3 * (size_t) npairs), view(pairs.pair_i, npairs),
      view(pairs.jatoms, npairs), view(pairs.jelems, npairs), view(pairs.jtags, npairs),
      view(pairs.iatoms, nlistatoms), view(pairs.ielems, nlistatoms),
      view(pairs.numneighs, nlistatoms), view(pairs.elems, ntotal),
      view(f0, 3 * sizeof(double) * ntotal), view(eatoms, nlistatoms),
      view(&energy, sizeof(double)), view(virial, 6 * sizeof(double)),
      view(vatom0, 6 * sizeof(double) * (vatom0 ? ntotal : 0)));
  std::string err = call_compute(iface, args);
  PyGILState_Release(gs);
  stop_if_failed(error, world, err, "pair_style mliap/unified");

  if (eflag_global) eng_vdwl += energy;
  if (eflag_atom)
    for (int ii = 0; ii < nlistatoms; ii++) eatom[pairs.iatoms[ii]] += eatoms[ii];
  if (vflag_fdotr) virial_fdotr_compute();
}

/* ----------------------------------------------------------------------
   The scatter loops behind data.update_pair_energy / update_pair_forces, called from
   alloykit.mliap.coupling through ctypes: in numpy they cost more than most models.
---------------------------------------------------------------------- */

extern "C" __attribute__((visibility("default"))) void
alloykit_update_pair_energy(int npairs, const int *pair_i, const double *eij, int nlistatoms,
                            const int *iatoms, int ntotal, double *eatoms, double *energy)
{
  std::vector<double> per_atom(ntotal, 0.0);
  for (int n = 0; n < npairs; n++) per_atom[pair_i[n]] += 0.5 * eij[n];
  double total = 0.0;
  for (int ii = 0; ii < nlistatoms; ii++) {
    eatoms[ii] = per_atom[iatoms[ii]];
    total += eatoms[ii];
  }
  *energy = total;
}

extern "C" __attribute__((visibility("default"))) void
alloykit_update_pair_forces(int npairs, const int *pair_i, const int *jatoms, const double *fij,
                            const double *rij, double *f, double *virial, double *vatom)
{
  for (int n = 0; n < npairs; n++) {
    const int i = pair_i[n], j = jatoms[n];
    const double *fn = fij + 3 * n;
    for (int k = 0; k < 3; k++) {
      f[3 * i + k] += fn[k];
      f[3 * j + k] -= fn[k];
    }
    if (virial || vatom) {
      const double *r = rij + 3 * n;
      const double v[6] = {-r[0] * fn[0], -r[1] * fn[1], -r[2] * fn[2],
                           -r[0] * fn[1], -r[0] * fn[2], -r[1] * fn[2]};
      if (virial)
        for (int k = 0; k < 6; k++) virial[k] += v[k];
      if (vatom)
        for (int k = 0; k < 6; k++) {
          vatom[6 * i + k] += 0.5 * v[k];
          vatom[6 * j + k] += 0.5 * v[k];
        }
    }
  }
}
