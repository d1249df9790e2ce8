"""The file connector: descriptor files on disk and the Location targets they reach (no database)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from catalog.connectors import get_connector
from catalog.connectors.files import DirectoryReader, FileConnector, glob_regex, parse_config

_SHARED = next(
    (p for p in (Path(__file__).resolve().parents[3] / "shared", Path("/work/shared")) if p.is_dir()), None
)
EXAMPLES = "backstage__backstage__packages__catalog-model__examples__"

COMPONENT = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
spec:
  type: ml-model
  lifecycle: experimental
  owner: team-a
"""


def component(name: str) -> str:
    return COMPONENT.format(name=name)


def location(*targets: str) -> str:
    lines = "".join(f'    - "{target}"\n' for target in targets)
    header = "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: loc\n"
    return f"{header}spec:\n  targets:\n{lines}"


def shared(relative: str) -> Path:
    if _SHARED is None or not (_SHARED / relative).exists():
        pytest.skip(f"shared/{relative} is not here")
    return _SHARED / relative


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def fetch(*paths: Path):
    return FileConnector().fetch({"paths": [str(p) for p in paths]}, workdir=Path("/nonexistent"))


def test_one_descriptor_file_from_the_corpus(tmp_path):
    path = tmp_path / "catalog-info.yaml"
    path.write_text(shared(f"corpus/backstage/{EXAMPLES}acme__team-a-group.yaml").read_text())

    snapshot = fetch(path)

    assert (snapshot.errors, snapshot.complete, snapshot.repositories) == ((), True, ())
    (descriptor,) = snapshot.descriptors
    assert descriptor.path == "catalog-info.yaml" and descriptor.errors == ()
    assert [str(e.ref) for e in descriptor.entities][-1] == "user:development/guest"


def test_location_follows_relative_targets_and_globs_inside_its_root(tmp_path):
    root = tmp_path / "catalog"
    write(
        root,
        {
            "all.yaml": location("./teams.yaml", "./models/**/*.yaml", "./missing.yaml", "../outside.yaml"),
            "teams.yaml": shared(f"corpus/backstage/{EXAMPLES}acme__team-a-group.yaml").read_text(),
            "models/ranker.yaml": component("ranker"),
            "models/vision/detector.yaml": component("detector"),
            "models/notes.txt": "not matched",
        },
    )
    (tmp_path / "outside.yaml").write_text(component("outside"))

    snapshot = fetch(root / "all.yaml")

    assert snapshot.complete and snapshot.errors == ()
    assert [d.path for d in snapshot.descriptors] == [
        "all.yaml",
        "models/ranker.yaml",
        "models/vision/detector.yaml",
        "teams.yaml",
    ]
    location_file = snapshot.descriptors[0]
    assert [(e.field, e.message) for e in location_file.errors] == [
        ("spec.targets.2", "target './missing.yaml' not found (missing.yaml)"),
        ("spec.targets.3", "target '../outside.yaml' is outside the root directory"),
    ]
    names = {e.name for d in snapshot.descriptors for e in d.entities}
    assert {"ranker", "detector", "team-a"} <= names and "outside" not in names


def test_symbolic_links_do_not_leave_the_root(tmp_path):
    root = tmp_path / "root"
    write(
        root,
        {"catalog-info.yaml": location("./link.yaml", "./linked/*.yaml"), "inside.yaml": component("in")},
    )
    (tmp_path / "secret.yaml").write_text(component("secret"))
    (root / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    (root / "linked").mkdir()
    (root / "linked" / "secret.yaml").symlink_to(tmp_path / "secret.yaml")
    (root / "linked" / "inside.yaml").symlink_to(root / "inside.yaml")

    (descriptor, inside) = fetch(root / "catalog-info.yaml").descriptors

    assert inside.path == "linked/inside.yaml" and inside.entities[0].name == "in"
    assert [e.message for e in descriptor.errors] == ["target './link.yaml' not found (link.yaml)"]
    reader = DirectoryReader(root)
    with pytest.raises(FileNotFoundError, match="outside"):
        reader.read("link.yaml")
    with pytest.raises(FileNotFoundError, match="outside"):
        reader.read("../secret.yaml")


def test_a_linked_root_file_is_read_with_its_targets_where_it_lives(tmp_path):
    write(tmp_path / "real", {"all.yaml": location("./model.yaml"), "model.yaml": component("model")})
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "catalog.yaml").symlink_to(tmp_path / "real" / "all.yaml")

    snapshot = fetch(tmp_path / "config" / "catalog.yaml")

    assert [(d.path, d.errors) for d in snapshot.descriptors] == [("all.yaml", ()), ("model.yaml", ())]


def test_corpus_location_reads_its_group_targets_and_names_the_missing_ones(tmp_path):
    corpus = shared("corpus/backstage")
    (tmp_path / "org.yaml").write_text((corpus / f"{EXAMPLES}acme__org.yaml").read_text())
    (tmp_path / "team-a-group.yaml").write_text((corpus / f"{EXAMPLES}acme__team-a-group.yaml").read_text())

    org, team_a = fetch(tmp_path / "org.yaml").descriptors

    assert team_a.path == "team-a-group.yaml" and len(team_a.entities) == 6
    assert org.entities[0].name == "acme-corp"
    assert len(org.errors) == 6 and all("not found" in e.message for e in org.errors)


def test_generated_benchmark_catalog_is_read_whole(tmp_path):
    generator = shared("bench/gen_catalog.py")
    out = tmp_path / "bench"
    args = [str(out), "--components", "300", "--groups", "12", "--files", "3"]
    subprocess.run([sys.executable, str(generator), *args], check=True, capture_output=True)

    snapshot = fetch(out / "all.yaml")

    assert snapshot.complete and all(d.errors == () for d in snapshot.descriptors)
    kinds = [e.kind for d in snapshot.descriptors for e in d.entities]
    assert (kinds.count("Component"), kinds.count("Group"), kinds.count("Location")) == (300, 12, 1)


def test_missing_file_is_a_source_error_and_the_rest_is_still_read(tmp_path):
    good = tmp_path / "good" / "catalog-info.yaml"
    write(good.parent, {"catalog-info.yaml": component("good")})
    missing = tmp_path / "gone" / "catalog-info.yaml"

    snapshot = fetch(missing, good)

    assert snapshot.errors == (f"{missing}: no such file",) and not snapshot.complete
    assert [d.entities[0].name for d in snapshot.descriptors] == ["good"]


def test_two_roots_with_the_same_relative_path_are_refused(tmp_path):
    write(tmp_path / "a", {"catalog-info.yaml": component("a")})
    write(tmp_path / "b", {"catalog-info.yaml": component("b")})

    snapshot = fetch(tmp_path / "a" / "catalog-info.yaml", tmp_path / "b" / "catalog-info.yaml")

    assert [d.entities[0].name for d in snapshot.descriptors] == ["a"]
    assert not snapshot.complete
    assert snapshot.errors[0].startswith(
        f"{tmp_path / 'b' / 'catalog-info.yaml'}: has the same relative path"
    )


def test_unreadable_encoding_is_an_error_on_the_file(tmp_path):
    (tmp_path / "catalog-info.yaml").write_bytes(b"apiVersion: backstage.io/v1alpha1\nkind: \xff\n")

    (descriptor,) = fetch(tmp_path / "catalog-info.yaml").descriptors

    assert not descriptor.complete and "cannot be read" in descriptor.errors[0].message


@pytest.mark.parametrize(
    ("config", "key"),
    [({"path": ["x"]}, "'path'"), ({"paths": "x.yaml"}, "'paths'"), ({"paths": [3]}, "'paths'")],
)
def test_bad_config_names_the_key(config, key):
    with pytest.raises(ValueError, match=key):
        parse_config(config)


def test_registered_as_the_file_kind():
    assert isinstance(get_connector("file"), FileConnector)


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("*.yaml", ["a.yaml", ".hidden.yaml"], ["d/a.yaml", "a.yml"]),
        ("d/*.yaml", ["d/a.yaml"], ["d/e/a.yaml", "a.yaml"]),
        ("d/**/*.yaml", ["d/a.yaml", "d/e/f/a.yaml"], ["a.yaml", "dd/a.yaml"]),
        ("**", ["a", "d/e/f"], []),
        ("d/?.y[am]ml", ["d/a.yaml", "d/b.ymml"], ["d/ab.yaml", "d/a.yxml"]),
        ("d/[!a]*.yaml", ["d/b.yaml"], ["d/a.yaml"]),
    ],
)
def test_glob_dialect(pattern, matches, misses):
    regex = glob_regex(pattern)
    assert [p for p in matches if regex.match(p)] == matches
    assert [p for p in misses if regex.match(p)] == []
