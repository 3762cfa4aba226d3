"""Two extensions of several sources each. Like many real projects, setup.py generates a
source with worker processes and a custom build_ext uses a thread of its own."""
import multiprocessing
import os
import threading

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def generate_table(path):
    with multiprocessing.get_context("fork").Pool(2) as pool:
        # A builtin: functions defined in setup.py cannot be pickled (it runs as __main__'s code).
        squares = pool.starmap(pow, [(n, 2) for n in range(16)])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("long mw_table_sum(void) { return %dL; }\n" % sum(squares))


class ThreadedBuildExt(build_ext):
    """Writes a header from a thread of its own before building each extension."""

    def build_extension(self, ext):
        header = os.path.join(self.build_temp, "mw_par_generated.h")

        def write():
            os.makedirs(self.build_temp, exist_ok=True)
            with open(header, "w") as f:
                f.write("#define MW_PAR_MAGIC 7\n")

        thread = threading.Thread(target=write)
        thread.start()
        thread.join()
        ext.include_dirs.append(self.build_temp)
        super().build_extension(ext)


TABLE = os.path.join("build", "generated", "table.c")
generate_table(TABLE)
alpha = ["src/alpha_mod.c"] + ["src/a%d.c" % i for i in range(1, 5)]
beta = ["src/beta_mod.c"] + ["src/b%d.c" % i for i in range(1, 4)] + [TABLE]

setup(
    ext_modules=[Extension("mw_par._alpha", alpha), Extension("mw_par._beta", beta)],
    cmdclass={"build_ext": ThreadedBuildExt},
)
