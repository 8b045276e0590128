#!/bin/sh
set -e
echo configuring yarn
