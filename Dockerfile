# The function's image: the AWS Lambda Python base image, built for linux/arm64
# (Pulumi passes the platform). The base image's entrypoint runs the Lambda
# runtime client, or the Runtime Interface Emulator when started outside Lambda,
# which is why `docker run -p 9000:8080 IMAGE` answers invokes locally.
# For byte-for-byte reproducible builds, pin the digest too (README: "Pinning the base image").
# The tag is the Python version, and python:3.12 and later run on Amazon Linux 2023,
# whose glibc is 2.34 (the label below). Together they decide which wheels pip may
# install: tests/test_image_wheels.py resolves image/requirements.txt for exactly
# this tag and label, so change them together.
FROM public.ecr.aws/lambda/python:3.13
LABEL healthcheck.base-glibc="2.34"

# Dependencies first, in their own layer: rebuilt only when the pins change.
# Installed into the task root so the pinned boto3 wins over the base image's.
COPY image/requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --only-binary=:all: --target "${LAMBDA_TASK_ROOT}" -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY image/healthcheck/ ${LAMBDA_TASK_ROOT}/healthcheck/

# The filesystem is read-only at run time: compile every module now, so a cold
# start neither compiles nor tries to write bytecode.
RUN python -m compileall -q -j 0 "${LAMBDA_TASK_ROOT}"

# A check's DNS lookup runs inside glibc's getaddrinfo(), which neither a socket
# timeout nor the check's watchdog can interrupt: bound it in the resolver itself.
# glibc reads RES_OPTIONS as extra resolv.conf options: wait 2 s for an answer
# instead of 5, and ask twice, so with one name server a lookup gives up after
# about 4 s instead of 10, inside a check's default 10 s. Set here, it applies
# under Lambda, `docker run` and `make serve` alike.
ENV RES_OPTIONS="timeout:2 attempts:2"

CMD ["healthcheck.handler.handler"]
