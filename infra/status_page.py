"""The status page: a second function from the same image, behind a Lambda Function URL, with a read-only role."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .environment import status_environment
from .policies import assume_role_policy, status_policy

__all__ = ["HANDLER", "StatusPage", "StatusPageArgs"]

# The image's CMD names the monitor's handler; this function's image command names the page's.
HANDLER = "healthcheck.status.handler"
AUTH_TYPES = {"public": "NONE", "iam": "AWS_IAM"}
MEMORY_MB = 256  # rendering is light; reads are a few Query calls
TIMEOUT_S = 15


@dataclass
class StatusPageArgs:
    mode: str
    """public or iam."""
    show_urls: bool
    concurrency: int
    """Reserved concurrency: at most this many views at once; 0: none reserved, no cap."""
    image_uri: pulumi.Input[str]
    targets_json: str
    table: aws.dynamodb.Table
    state_table: aws.dynamodb.Table
    rollup_table: aws.dynamodb.Table
    log_retention_days: int


class StatusPage(pulumi.ComponentResource):
    def __init__(self, name: str, args: StatusPageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("healthcheck:index:StatusPage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output().account_id
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=account_id.apply(lambda account: assume_role_policy("lambda.amazonaws.com", account)),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(args.table.arn, args.state_table.arn, args.rollup_table.arn, log_group.arn).apply(
                lambda arns: status_policy(*arns)
            ),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            package_type="Image",
            image_uri=args.image_uri,
            image_config={"commands": [HANDLER]},
            architectures=["arm64"],
            role=role.arn,
            memory_size=MEMORY_MB,
            timeout=TIMEOUT_S,
            # -1 is the provider's "unreserved". A cap makes a flood of views 429s (Throttles), not
            # a drain on the account concurrency the monitor's runs need.
            reserved_concurrent_executions=args.concurrency or -1,
            environment={
                "variables": status_environment(
                    args.table.name, args.state_table.name, args.rollup_table.name, args.targets_json, args.show_urls
                )
            },
            logging_config={
                "log_format": "JSON",
                "log_group": log_group.name,
                "application_log_level": "INFO",
                "system_log_level": "WARN",
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, policy]),
        )
        auth_type = AUTH_TYPES[args.mode]
        self.url = aws.lambda_.FunctionUrl(
            f"{name}-url", function_name=self.function.name, authorization_type=auth_type, opts=child
        )
        if args.mode == "public":
            # Since October 2025 a public URL needs both grants. The provider adds them when it
            # creates an auth-NONE URL, but never removes them; declared here, they go with the page.
            aws.lambda_.Permission(
                f"{name}-public-url",
                action="lambda:InvokeFunctionUrl",
                function=self.function.name,
                principal="*",
                function_url_auth_type="NONE",
                opts=child,
            )
            aws.lambda_.Permission(
                f"{name}-public-invoke",
                action="lambda:InvokeFunction",
                function=self.function.name,
                principal="*",
                invoked_via_function_url=True,
                opts=child,
            )
        self.register_outputs({"functionName": self.function.name, "url": self.url.function_url})
