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

## demo: build, then run the main job on the embedded reference models. Until the full demo
## pipeline exists (fold, prune, quantize, validate, export) it lists the reference models,
## inspects the ViT and optimizes it losslessly, verifying the result (output in demo-out/).
demo: build
	./slimnx reference list
	./slimnx inspect "$$(./slimnx reference path vit)"
	mkdir -p demo-out
	./slimnx optimize "$$(./slimnx reference path vit)" -o demo-out/vit-optimized.onnx --verify --force

clean:
	$(MVN) -q clean
