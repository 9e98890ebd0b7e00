# slimnx developer entry points. Needs JDK 25 and Maven 3.8+; finds JDK 25 on its own when
# JAVA_HOME does not point at one.
SHELL := /bin/bash
JAVA_HOME := $(shell ./.ci/find-jdk25)
export JAVA_HOME
MVN := mvn -B -ntp

.PHONY: build test demo clean

## build: compile everything and produce cli/target/slimnx.jar (tests skipped)
build:
	$(MVN) -q -DskipTests package

## test: the full test suite (unit, conformance, fuzz, end-to-end)
test:
	$(MVN) verify

## demo: build, then run the main job: `slimnx demo` on the embedded ViT (optimize, Taylor prune
## FFN 4 -> 2 with distillation, static INT8, validate against the original, export ORT); output
## and the recipe that ran in slimnx-demo/.
demo: build
	./slimnx demo --out slimnx-demo

clean:
	$(MVN) -q clean
