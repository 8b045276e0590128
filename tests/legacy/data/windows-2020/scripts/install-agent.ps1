param()
$ErrorActionPreference = "Stop"
Write-Host "Installing agent $env:AGENT_VERSION"
