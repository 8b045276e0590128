#!/bin/sh
set -e
echo configuring openjdk-11-jdk
