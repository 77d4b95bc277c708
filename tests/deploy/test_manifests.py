"""Deployment files: every YAML under deploy/ parses, the Kubernetes manifests validate against
the 1.30 schemas (kubernetes-validate --strict), docker compose accepts the compose file, and
the pieces agree with each other (ports, labels, one KPI collector, no committed secrets)."""

import json
import re
from pathlib import Path
from typing import Any

from stack.paths import REPO_ROOT
from tests.deploy.support import (
    COMPOSE_FILE,
    DEPLOY,
    DOCKERFILE,
    KUBERNETES_DIR,
    README,
    assert_succeeded,
    compose_command,
    kubernetes_validate_command,
    load_yaml,
    load_yaml_documents,
    run,
)

KUBERNETES_VERSION = "1.30.0"
KUSTOMIZATION = KUBERNETES_DIR / "kustomization.yaml"


def _manifest_files() -> list[Path]:
    return sorted(path for path in KUBERNETES_DIR.glob("*.yaml") if path != KUSTOMIZATION)


def _resources() -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> manifest, over every manifest file."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in _manifest_files():
        for doc in load_yaml_documents(path):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in found, f"{key} is defined twice"
            found[key] = doc
    return found


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = container
    return result


def test_every_yaml_file_under_deploy_is_well_formed() -> None:
    files = sorted([*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")])
    assert len(files) >= 15
    for path in files:
        assert load_yaml_documents(path), f"{path.relative_to(REPO_ROOT)} is empty"


def test_kubernetes_manifests_validate_strictly() -> None:
    result = run([*kubernetes_validate_command(), "-k", KUBERNETES_VERSION, "--strict",
                  *map(str, _manifest_files())])
    assert_succeeded(result)
    # kubernetes-validate exits 0 when it has no schema for a kind: demand a pass per resource.
    passed = len(re.findall(r"passed for resource", result.stdout))
    assert passed == len(_resources()), result.stdout


def test_kustomization_lists_every_manifest_once() -> None:
    kustomization = load_yaml(KUSTOMIZATION)
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == "caseflow"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == [path.name for path in _manifest_files()]


def test_no_secret_values_are_committed() -> None:
    resources = _resources()
    assert not [key for key in resources if key[0] == "Secret"]
    config = resources[("ConfigMap", "caseflow-config")]["data"]
    assert "CASEFLOW_DATABASE_URL" not in config
    for kind, name in [("Deployment", "caseflow-worker"), ("Deployment", "caseflow-kpi"),
                       ("Job", "caseflow-migrate")]:
        env = {item["name"]: item for item in _container(resources[(kind, name)])["env"]}
        ref = env["CASEFLOW_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "caseflow-database", "key": "url"}, name


def test_workers_read_their_key_rings_from_a_secret_mounted_read_only() -> None:
    worker = _resources()[("Deployment", "caseflow-worker")]
    pod = worker["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["keys"]["secret"]["secretName"] == "caseflow-keys"
    assert volumes["keys"]["secret"]["defaultMode"] == 0o400
    [mount] = [m for m in _container(worker)["volumeMounts"] if m["name"] == "keys"]
    assert mount["readOnly"] is True
    env = {item["name"]: item.get("value") for item in _container(worker)["env"]}
    for setting in ("CASEFLOW_PAYLOAD_KEYS_FILE", "CASEFLOW_STORE_MASTER_KEYS_FILE"):
        assert env[setting].startswith(mount["mountPath"] + "/"), setting
    config = _resources()[("ConfigMap", "caseflow-config")]["data"]
    assert not [key for key in config if "KEY" in key or "TOKEN" in key]


def test_worker_deployment_is_scalable_probed_and_shuts_down_gracefully() -> None:
    resources = _resources()
    worker = resources[("Deployment", "caseflow-worker")]
    spec = worker["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= 60
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = _container(worker)
    assert container["command"] == ["python", "worker.py"]
    assert {port["containerPort"] for port in container["ports"]} == {9464, 9465}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/metrics"
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert {"name": "caseflow-config"} in [source["configMapRef"]
                                           for source in container["envFrom"]]
    labels = spec["template"]["metadata"]["labels"]

    hpa = resources[("HorizontalPodAutoscaler", "caseflow-worker")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "caseflow-worker"}
    assert hpa["minReplicas"] >= 2
    assert hpa["maxReplicas"] > hpa["minReplicas"]
    pdb = resources[("PodDisruptionBudget", "caseflow-worker")]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    for service in ("caseflow-worker", "caseflow-worker-sdk"):
        svc = resources[("Service", service)]
        assert svc["spec"]["clusterIP"] == "None", "headless: DNS lists every pod"
        assert svc["spec"]["selector"].items() <= labels.items()
        assert svc["metadata"]["annotations"]["prometheus.io/scrape"] == "true"


def test_exactly_one_kpi_collector_with_recreate_rollouts() -> None:
    resources = _resources()
    kpi = resources[("Deployment", "caseflow-kpi")]
    assert kpi["spec"]["replicas"] == 1
    assert kpi["spec"]["strategy"] == {"type": "Recreate"}
    assert not [key for key in resources
                if key[0] == "HorizontalPodAutoscaler" and "kpi" in key[1]]
    container = _container(kpi)
    assert container["command"] == ["python", "-m", "kpi.collector"]
    assert [port["containerPort"] for port in container["ports"]] == [9466]
    service = resources[("Service", "caseflow-kpi")]
    assert service["metadata"]["annotations"]["prometheus.io/port"] == "9466"
    assert service["spec"]["selector"].items() <= kpi["spec"]["template"]["metadata"][
        "labels"].items()


def test_migration_job_runs_schema_migrate() -> None:
    job = _resources()[("Job", "caseflow-migrate")]
    assert _container(job)["command"] == ["python", "-m", "eventstore.migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}


def test_retention_runs_daily_one_at_a_time_with_the_configured_period() -> None:
    cron = _resources()[("CronJob", "caseflow-retention")]
    spec = cron["spec"]
    minute, hour, *every_day = spec["schedule"].split()
    assert every_day == ["*", "*", "*"]
    assert minute.isdigit()
    assert hour.isdigit()
    assert spec["concurrencyPolicy"] == "Forbid"
    template = spec["jobTemplate"]["spec"]["template"]
    assert template["spec"]["restartPolicy"] in {"OnFailure", "Never"}
    assert template["spec"]["securityContext"]["runAsNonRoot"] is True
    [container] = template["spec"]["containers"]
    assert container["command"] == ["python", "-m", "operations.erasure", "retention", "--by",
                                    "$(CASEFLOW_RETENTION_OFFICER)"]
    env = {item["name"]: item for item in container["env"]}
    assert float(env["CASEFLOW_RETENTION_DAYS"]["value"]) > 0, "--days comes from the setting"
    assert env["CASEFLOW_RETENTION_OFFICER"]["value"]
    ref = env["CASEFLOW_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "caseflow-database", "key": "url"}


def test_every_namespaced_resource_is_in_the_caseflow_namespace() -> None:
    for (kind, name), doc in _resources().items():
        if kind != "Namespace":
            assert doc["metadata"]["namespace"] == "caseflow", f"{kind}/{name}"


def test_compose_file_is_valid() -> None:
    assert_succeeded(run([*compose_command(), "-f", str(COMPOSE_FILE), "config", "-q"]))


def test_compose_runs_the_stack_with_scalable_workers_and_one_collector() -> None:
    result = run([*compose_command(), "-f", str(COMPOSE_FILE), "config", "--format", "json"])
    assert_succeeded(result)
    services = json.loads(result.stdout)["services"]
    assert {"postgres", "temporal", "migrate", "caseflow-worker", "caseflow-kpi", "prometheus",
            "grafana"} <= set(services)
    assert services["postgres"]["image"] == "postgres:15"
    worker, kpi = services["caseflow-worker"], services["caseflow-kpi"]
    assert worker["deploy"]["replicas"] >= 2
    assert kpi["deploy"]["replicas"] == 1
    for name in ("CASEFLOW_DATABASE_URL", "CASEFLOW_TEMPORAL_ADDRESS",
                 "CASEFLOW_TEMPORAL_NAMESPACE", "CASEFLOW_TASK_QUEUE", "CASEFLOW_METRICS_PORT"):
        assert name in worker["environment"], name
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["python", "-m", "eventstore.migrate"]
    assert kpi["command"] == ["python", "-m", "kpi.collector"]
    prometheus = services["prometheus"]
    assert "--storage.tsdb.retention.time=45d" in prometheus["command"]
    assert any(volume["source"].endswith("deploy/prometheus")
               and volume["target"] == "/etc/prometheus" for volume in prometheus["volumes"])


def test_dockerfile_builds_a_non_root_worker_image() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, flags=re.MULTILINE)
    user = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert user, "the image must switch to a non-root USER"
    assert not user[-1].startswith(("root", "0")), "the image must not run as root"
    assert 'CMD ["python", "worker.py"]' in text
    assert re.search(r"^HEALTHCHECK .*", text, flags=re.MULTILINE)
    assert "/metrics" in text
    assert re.search(r"pip install .*\s\.\s", text)


def test_dockerfile_copies_only_what_exists_and_what_the_package_needs() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    sources = [source for line in re.findall(r"^COPY (.+)$", text, flags=re.MULTILINE)
               for source in line.split()[:-1]]
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    packages = re.search(r"^packages = \[(.*?)\]", pyproject, flags=re.MULTILINE | re.DOTALL)
    assert packages
    top_level = {name.split(".")[0] for name in re.findall(r'"([\w.]+)"', packages.group(1))}
    copied = {source.rstrip("/") for source in sources}
    assert top_level <= copied, f"packages not copied: {top_level - copied}"
    for source in sources:
        if "*" not in source:
            assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_readme_covers_processes_ports_env_scaling_and_migrations() -> None:
    text = README.read_text(encoding="utf-8")
    for needle in ("9464", "9465", "9466", "CASEFLOW_DATABASE_URL", "CASEFLOW_TEMPORAL_ADDRESS",
                   "CASEFLOW_TEMPORAL_NAMESPACE", "CASEFLOW_TASK_QUEUE", "CASEFLOW_METRICS_PORT",
                   "python -m eventstore.migrate", "python -m kpi.collector", "python worker.py",
                   "schedule-to-start", "SIGTERM"):
        assert needle in text, f"deploy/README.md does not mention {needle}"


def test_the_api_is_deployed_probed_and_served() -> None:
    resources = _resources()
    api = resources[("Deployment", "caseflow-api")]
    assert api["spec"]["replicas"] >= 2
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    container = _container(api)
    assert container["command"] == ["python", "-m", "console"]
    assert [port["containerPort"] for port in container["ports"]] == [8080]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {item["name"]: item for item in container["env"]}
    assert env["CASEFLOW_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "caseflow-database", "key": "url"}
    assert "CASEFLOW_API_DEV_MODE" not in env
    volumes = {volume["name"]: volume for volume in api["spec"]["template"]["spec"]["volumes"]}
    assert volumes["link-secret"]["secret"]["secretName"] == "caseflow-api"
    assert ("ConfigMap", volumes["api-keys"]["configMap"]["name"]) in resources
    service = resources[("Service", "caseflow-api")]
    assert service["spec"]["selector"].items() <= api["spec"]["template"]["metadata"][
        "labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"

    result = run([*compose_command(), "-f", str(COMPOSE_FILE), "config", "--format", "json"])
    assert_succeeded(result)
    compose_api = json.loads(result.stdout)["services"]["caseflow-api"]
    assert compose_api["command"] == ["python", "-m", "console"]
    assert compose_api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/readyz" in " ".join(compose_api["healthcheck"]["test"])
    assert "CASEFLOW_API_DEV_MODE" not in compose_api["environment"]
    assert "8080" in DOCKERFILE.read_text(encoding="utf-8")
