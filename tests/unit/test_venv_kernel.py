"""`python3` means this interpreter in every notebook the workshop's commands execute."""

import json
import sys

from jupyter_client.kernelspec import KernelSpecManager

from tools.venv_kernel import VenvKernelManager, VenvKernelSpecManager


def test_python3_is_this_interpreter_even_where_another_kernelspec_comes_first(
    tmp_path, monkeypatch
):
    for name in ("python3", "other"):
        spec = tmp_path / "kernels" / name
        spec.mkdir(parents=True)
        argv = ["/opt/conda/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": name, "language": "python"})
        )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))  # searched before every other folder
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == "/opt/conda/bin/python"
    venv = VenvKernelSpecManager()
    assert venv.get_kernel_spec("python3").argv[:3] == [sys.executable, "-m", "ipykernel_launcher"]
    assert venv.get_kernel_spec("other").argv[0] == "/opt/conda/bin/python"  # others as usual
    assert venv.get_all_specs()["python3"]["spec"]["argv"][0] == sys.executable  # JupyterLab's list
    assert isinstance(
        VenvKernelManager(kernel_name="python3").kernel_spec_manager, VenvKernelSpecManager
    )
