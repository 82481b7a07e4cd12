# syntax=docker/dockerfile:1
#
# Tandem gateway image. Build from the repository root (needs a Docker/BuildKit engine):
#
#   docker build -t tandem-gateway:0.1.0 .
#
# Two stages: Maven builds the gateway exactly as the launcher does, and the runtime stage
# carries only a JRE plus the launcher's layout (/app/tandem-gateway.jar with its dependencies
# in /app/libs/, found through the jar manifest's Class-Path), running as a non-root user.
# No HEALTHCHECK: Kubernetes probes /health/live and /health/ready (see charts/tandem).

ARG JAVA_VERSION=21

# ---- build ---------------------------------------------------------------------------------
FROM maven:3.9-eclipse-temurin-${JAVA_VERSION} AS build
WORKDIR /src
# The whole tree minus what .dockerignore leaves out (targets, the chart, tests of other
# modules). The reactor reads every module's pom even when building one module, and modules
# gain source folders over time, so copying file by file would break with each new one.
COPY . .
# Maven's repository lives in a BuildKit cache mount, so rebuilds do not download it again.
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -ntp -DskipTests -pl gateway -am package

# ---- runtime -------------------------------------------------------------------------------
FROM eclipse-temurin:${JAVA_VERSION}-jre
# a fixed uid/gid so Kubernetes can check runAsNonRoot (the chart runs it as 10001)
RUN groupadd --system --gid 10001 tandem \
 && useradd --system --uid 10001 --gid tandem --home-dir /app --no-create-home --shell /usr/sbin/nologin tandem \
 && mkdir -p /app/libs /app/data \
 && chown tandem:tandem /app/data
WORKDIR /app
# libraries first: they change less often than the gateway jar, so their layer is reused
COPY --from=build /src/gateway/target/libs/ /app/libs/
COPY --from=build /src/gateway/target/tandem-gateway.jar /app/tandem-gateway.jar
# Heap from the container's memory limit (75%, the rest for metaspace, thread stacks and
# direct buffers); die on OOM so Kubernetes restarts a clean JVM instead of a wedged one.
# The chart sets JAVA_TOOL_OPTIONS itself (values: jvm.options, the same flags); this is the
# default for `docker run`. The G1 flags are the launcher's: G1 gives back heap it does not need.
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75 -XX:InitialRAMPercentage=50 -XX:+UseG1GC -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:G1PeriodicGCInterval=60000 -XX:+ExitOnOutOfMemoryError" \
    LANG=C.UTF-8
USER 10001:10001
EXPOSE 8080
# exec form: java is PID 1 and gets SIGTERM directly, which starts the gateway's graceful drain
ENTRYPOINT ["java", "-jar", "/app/tandem-gateway.jar"]
