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


class FunctionImage(pulumi.ComponentResource):
    """Builds the root Dockerfile for linux/arm64 only and pushes it to a scanned ECR repository.

    ``image_uri`` is ``repository@sha256:...``: a deploy always runs the image it
    just built, never whatever a moving tag points at.
    """

    repository: aws.ecr.Repository
    image: docker_build.Image
    image_uri: pulumi.Output[str]

    def __init__(self, name: str, args: FunctionImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("healthcheck:index:FunctionImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.repository = aws.ecr.Repository(
            f"{name}-repository",
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="MUTABLE",  # `latest` and `cache` move with each build
            force_delete=True,  # `pulumi destroy` removes the images with the repository
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=self.repository.name,
            policy=lifecycle_policy(),
            opts=child,
        )
        auth = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
        cache_ref = self.repository.repository_url.apply(lambda url: f"{url}:cache")

        self.image = docker_build.Image(
            f"{name}-image",
            context=docker_build.BuildContextArgs(location=args.context),
            dockerfile=docker_build.DockerfileArgs(location=args.dockerfile),
            # Lambda rejects multi-platform indexes: exactly one platform.
            platforms=[docker_build.Platform.LINUX_ARM64],
            tags=[self.repository.repository_url.apply(lambda url: f"{url}:latest")],
            push=True,
            # `pulumi preview` needs no Docker daemon; the build runs on `up`.
            build_on_preview=False,
            registries=[
                docker_build.RegistryArgs(
                    address=self.repository.repository_url,
                    username=auth.user_name,
                    password=auth.password,
                )
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
        self.register_outputs({"repositoryUrl": self.repository.repository_url, "imageUri": self.image_uri})
