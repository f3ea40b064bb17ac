"""The kernel every workshop command runs notebooks in: this interpreter, whatever else is installed.

A notebook asks for the kernel `python3`. Jupyter looks that name up in kernelspec folders
(`$JUPYTER_PATH`, the user's `~/.local/share/jupyter`, the environment's, the system's), so a
`python3` kernelspec left by Anaconda or a user-level `ipykernel install` can run a lesson on
another Python than the venv's. These classes answer `python3` with this interpreter instead:
`make run` passes `VenvKernelManager` to nbconvert, `make lab` passes `VenvKernelSpecManager` to
JupyterLab. Other kernel names are looked up as usual.
"""

from ipykernel.kernelspec import RESOURCES, get_kernel_dict
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

NATIVE = "python3"  # what every notebook's metadata names (standard, so Colab and Jupyter open it)


class VenvKernelSpecManager(KernelSpecManager):
    """`python3` is this interpreter's ipykernel; every other name is looked up as usual."""

    def find_kernel_specs(self) -> dict[str, str]:
        return {**super().find_kernel_specs(), NATIVE: RESOURCES}

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name == NATIVE:
            return KernelSpec(
                resource_dir=RESOURCES, **get_kernel_dict()
            )  # argv[0]: sys.executable
        return super().get_kernel_spec(kernel_name)


class VenvKernelManager(AsyncKernelManager):
    """nbclient's kernel manager, with the kernelspecs above."""

    @default("kernel_spec_manager")
    def _venv_kernel_specs(self) -> VenvKernelSpecManager:
        return VenvKernelSpecManager(data_dir=self.data_dir)
