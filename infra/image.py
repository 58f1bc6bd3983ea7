"""The function's container image: an ECR repository and an arm64 build pushed to it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

__all__ = ["FunctionImage", "FunctionImageArgs", "lifecycle_policy"]

# Untagged images are earlier builds; keep a few for a quick rollback.
KEEP_UNTAGGED_IMAGES = 10


def lifecycle_policy(keep_untagged: int = KEEP_UNTAGGED_IMAGES) -> str:
    """Expire all but the newest untagged images; tagged ones (latest, cache) stay."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"keep the {keep_untagged} newest untagged images",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_untagged,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


@dataclass
class FunctionImageArgs:
    context: pulumi.Input[str]
    """Build context: the project root (the .dockerignore keeps it small)."""
    dockerfile: pulumi.Input[str]
    regions: tuple[str, ...] = ()
    """Other regions whose functions run the image: each gets a repository of its own, and the same push."""


class FunctionImage(pulumi.ComponentResource):
    """Builds the root Dockerfile for linux/arm64 only and pushes it to a scanned ECR repository.

    ``image_uri`` is ``repository@sha256:...``: a deploy always runs the image it
    just built, never whatever a moving tag points at.

    Lambda runs an image only from its own region's ECR, so each other checking
    region gets a repository, and the one build is pushed to all of them: the
    same manifest, so the same digest (``image_uris``). The push is part of the
    image resource, so no region's function is created before its image is
    there. Not ECR replication: its configuration is one per registry (a stack
    would overwrite the account's own rules), and it copies in the background,
    with nothing for a deploy to wait on.
    """

    repository: aws.ecr.Repository
    image: docker_build.Image
    image_uri: pulumi.Output[str]
    image_uris: dict[str, pulumi.Output[str]]
    """Each other region's ``repository@sha256:...``."""

    def __init__(self, name: str, args: FunctionImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("healthcheck:index:FunctionImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.repository = self._repository(name, None)
        self.repositories = {region: self._repository(f"{name}-{region}", region) for region in args.regions}
        auth = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
        cache_ref = self.repository.repository_url.apply(lambda url: f"{url}:cache")

        self.image = docker_build.Image(
            f"{name}-image",
            context=docker_build.BuildContextArgs(location=args.context),
            dockerfile=docker_build.DockerfileArgs(location=args.dockerfile),
            # Lambda rejects multi-platform indexes: exactly one platform.
            platforms=[docker_build.Platform.LINUX_ARM64],
            tags=[_latest(repository) for repository in (self.repository, *self.repositories.values())],
            push=True,
            # `pulumi preview` needs no Docker daemon; the build runs on `up`.
            build_on_preview=False,
            registries=[
                docker_build.RegistryArgs(
                    address=self.repository.repository_url,
                    username=auth.user_name,
                    password=auth.password,
                ),
                *(self._registry(repository, region) for region, repository in self.repositories.items()),
            ],
            cache_from=[docker_build.CacheFromArgs(registry=docker_build.CacheFromRegistryArgs(ref=cache_ref))],
            cache_to=[
                docker_build.CacheToArgs(
                    registry=docker_build.CacheToRegistryArgs(
                        ref=cache_ref,
                        # ECR stores cache only as an OCI image manifest.
                        image_manifest=True,
                        oci_media_types=True,
                        mode=docker_build.CacheMode.MAX,
                    )
                )
            ],
            opts=child,
        )
        self.image_uri = pulumi.Output.concat(self.repository.repository_url, "@", self.image.digest)
        self.image_uris = {
            region: pulumi.Output.concat(repository.repository_url, "@", self.image.digest)
            for region, repository in self.repositories.items()
        }
        self.register_outputs({"repositoryUrl": self.repository.repository_url, "imageUri": self.image_uri})

    def _repository(self, name: str, region: str | None) -> aws.ecr.Repository:
        """A scanned repository whose old untagged images expire; ``region`` None: the provider's."""
        repository = aws.ecr.Repository(
            f"{name}-repository",
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="MUTABLE",  # `latest` and `cache` move with each build
            force_delete=True,  # `pulumi destroy` removes the images with the repository
            region=region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=lifecycle_policy(),
            region=region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return repository

    @staticmethod
    def _registry(repository: aws.ecr.Repository, region: str) -> docker_build.RegistryArgs:
        """Push credentials for a repository in another region: each region's registry has its own token."""
        auth = aws.ecr.get_authorization_token_output(registry_id=repository.registry_id, region=region)
        return docker_build.RegistryArgs(
            address=repository.repository_url, username=auth.user_name, password=auth.password
        )


def _latest(repository: aws.ecr.Repository) -> pulumi.Output[str]:
    return repository.repository_url.apply(lambda url: f"{url}:latest")
