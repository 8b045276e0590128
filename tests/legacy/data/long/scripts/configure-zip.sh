#!/bin/sh
set -e
echo configuring zip
