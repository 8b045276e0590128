#!/bin/sh
set -e
echo configuring dotnet-sdk-6.0
