"""Which pins apply where: markers are evaluated for the target platform, not this machine."""

from tools import wheels


def test_tensorflow_package_by_platform():
    linux = wheels.requirements_for("linux-x86_64", "3.11")
    mac = wheels.requirements_for("macos-arm64", "3.13")
    arm = wheels.requirements_for("linux-aarch64", "3.12")
    assert "tensorflow-cpu==2.21.0" in linux and "tensorflow==2.21.0" not in linux
    assert "tensorflow==2.21.0" in mac and "tensorflow-cpu==2.21.0" not in mac
    assert "tensorflow==2.21.0" in arm and "tensorflow-cpu==2.21.0" not in arm


def test_same_versions_everywhere():
    by_platform = [
        {
            r.split("==")[0].replace("-cpu", ""): r.split("==")[1]
            for r in wheels.requirements_for(p, "3.11")
        }
        for p in wheels.PLATFORMS
    ]
    assert all(pins == by_platform[0] for pins in by_platform)
    assert "jax" in by_platform[0] and all(
        "==" in r for r in wheels.requirements_for("macos-arm64", "3.11")
    )


def test_tag_lists_cover_what_wheels_carry():
    linux_tags, _ = wheels.PLATFORMS["linux-x86_64"]
    mac_tags, _ = wheels.PLATFORMS["macos-arm64"]
    assert {"manylinux_2_27_x86_64", "manylinux_2_28_x86_64", "manylinux2014_x86_64"} <= set(
        linux_tags
    )
    assert {"macosx_14_0_arm64", "macosx_11_0_arm64", "macosx_10_9_universal2"} <= set(mac_tags)


def test_local_package_and_comments_are_skipped(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# a comment\nnumpy==2.4.6  # why\n\n-e .\nfoo==1; python_version < '3.12'\n")
    assert wheels.requirements_for("linux-x86_64", "3.13", path) == ["numpy==2.4.6"]
    assert wheels.requirements_for("linux-x86_64", "3.11", path) == ["numpy==2.4.6", "foo==1"]
