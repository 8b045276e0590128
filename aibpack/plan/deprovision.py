"""AIB's hidden last step, made visible: generalize the VM so the image can be deployed.

As in AIB, the script at a well-known path is run last: the one a customizer wrote there, else AIB's
default, written just before.
"""

from __future__ import annotations

from aibpack.plan.build import Attribute, Block, OsType

LINUX_SCRIPT = "/tmp/DeprovisioningScript.sh"
WINDOWS_SCRIPT = "C:\\DeprovisioningScript.ps1"

LINUX_DEFAULT = [
    "WAAGENT=/usr/sbin/waagent",
    "waagent -version 1> /dev/null 2>&1",
    "if [ $? -eq 0 ]; then",
    "  WAAGENT=waagent",
    "fi",
    "$WAAGENT -force -deprovision+user && export HISTSIZE=0 && sync",
]

WINDOWS_DEFAULT = [
    "Write-Output '>>> Waiting for GA Service (RdAgent) to start ...'",
    "while ((Get-Service RdAgent).Status -ne 'Running') { Start-Sleep -s 5 }",
    "Write-Output '>>> Waiting for GA Service (WindowsAzureTelemetryService) to start ...'",
    "while ((Get-Service WindowsAzureTelemetryService -ErrorAction SilentlyContinue) -and "
    "((Get-Service WindowsAzureTelemetryService).Status -ne 'Running')) { Start-Sleep -s 5 }",
    "Write-Output '>>> Waiting for GA Service (WindowsAzureGuestAgent) to start ...'",
    "while ((Get-Service WindowsAzureGuestAgent).Status -ne 'Running') { Start-Sleep -s 5 }",
    "if( Test-Path $Env:SystemRoot\\system32\\Sysprep\\unattend.xml ) {",
    "  Write-Output '>>> Removing Sysprep\\unattend.xml ...'",
    "  Remove-Item $Env:SystemRoot\\system32\\Sysprep\\unattend.xml -Force",
    "}",
    "if (Test-Path $Env:SystemRoot\\Panther\\unattend.xml) {",
    "  Write-Output '>>> Removing Panther\\unattend.xml ...'",
    "  Remove-Item $Env:SystemRoot\\Panther\\unattend.xml -Force",
    "}",
    "Write-Output '>>> Sysprepping VM ...'",
    "& $Env:SystemRoot\\System32\\Sysprep\\Sysprep.exe /oobe /generalize /quiet /quit",
    "while($true) {",
    "  $imageState = (Get-ItemProperty HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State).ImageState",
    "  Write-Output $imageState",
    "  if ($imageState -eq 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') { break }",
    "  Start-Sleep -s 5",
    "}",
    "Write-Output '>>> Sysprep complete ...'",
]


def run_last(os: OsType) -> Block:
    """The last provisioner: the deprovisioning script a customizer wrote, else AIB's default, then run it."""
    if os == "Windows":
        lines = [
            f"if (-not (Test-Path -LiteralPath '{WINDOWS_SCRIPT}')) {{",
            f"Set-Content -LiteralPath '{WINDOWS_SCRIPT}' -Value @'",
            *WINDOWS_DEFAULT,
            "'@",
            "}",
            f"& '{WINDOWS_SCRIPT}'",
        ]
        return _block("powershell", "aibpack: deprovision (sysprep)", lines)
    lines = [
        f"if [ ! -f {LINUX_SCRIPT} ]; then",
        f"cat > {LINUX_SCRIPT} <<'AIBPACK_DEPROVISION'",
        *LINUX_DEFAULT,
        "AIBPACK_DEPROVISION",
        "fi",
        f"sudo sh {LINUX_SCRIPT}",
    ]
    # The build user is gone after deprovision+user, so Packer must not try to remove its temp script.
    return _block("shell", "aibpack: deprovision (waagent)", lines, Attribute("skip_clean", True))


def _block(kind: str, name: str, lines: list[str], *extra: Attribute) -> Block:
    return Block("provisioner", (kind,), (Attribute("name", name), Attribute("inline", lines), *extra))
