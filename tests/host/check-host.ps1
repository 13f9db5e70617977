# The README's flow on a Windows laptop (PowerShell 5.1 or 7), what this project's CI
# cannot run: it prints what the host has (Windows, Vagrant, VirtualBox, Java, JBang),
# brings a one-server one-agent cluster up with k3s-up, merges its kubeconfig into a
# private KUBECONFIG, checks with kubectl that both nodes are Ready at their 192.168.56.x
# addresses, runs k3s-status, then k3s-down; it ends with a summary to paste into an issue.
# Needs internet on the host, Vagrant, VirtualBox, JBang (winget install jbangdev.jbang)
# and kubectl. Nothing of yours is touched: the cluster folder and the kubeconfig live in
# a temporary folder, removed at the end (unless -Keep).
#
# Usage (from the clone): powershell -ExecutionPolicy Bypass -File tests\host\check-host.ps1 [-Keep] [k3s-up flags]
param([switch]$Keep, [Parameter(ValueFromRemainingArguments = $true)][string[]]$UpFlags = @())
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '..\..')

function Version-Of([string]$Command, [string[]]$Arguments) {
    $found = Get-Command $Command -ErrorAction SilentlyContinue
    if (-not $found) { return 'not found' }
    try { return ((& $found.Source @Arguments 2>&1) | Select-Object -First 1).ToString() } catch { return 'not found' }
}

function Facts {
    # VirtualBox is rarely on PATH: Vagrant itself finds it through VBOX_MSI_INSTALL_PATH
    $vbox = 'not found'
    foreach ($dir in @($env:VBOX_MSI_INSTALL_PATH, $env:VBOX_INSTALL_PATH)) {
        if ($dir -and (Test-Path (Join-Path $dir 'VBoxManage.exe'))) {
            $vbox = (& (Join-Path $dir 'VBoxManage.exe') --version) + " ($dir)"
        }
    }
    "system:        Windows $([Environment]::OSVersion.Version) ($env:PROCESSOR_ARCHITECTURE)"
    "vagrant:       $(Version-Of 'vagrant' @('--version'))"
    "virtualbox:    $vbox"
    "java:          $(Version-Of 'java' @('-version'))"
    "jbang:         $(Version-Of 'jbang' @('version'))"
    "kubectl:       $(Version-Of 'kubectl' @('version', '--client'))"
}

$work = Join-Path ([IO.Path]::GetTempPath()) ("k3s-vagrant-check-" + [Guid]::NewGuid().ToString('N').Substring(0, 8))
New-Item -ItemType Directory -Path $work | Out-Null
$env:K3S_VAGRANT_HOME = Join-Path $work 'home'
$env:KUBECONFIG = Join-Path $work 'kubeconfig'
$login = 'hostcheck'
$cluster = Join-Path $work 'cluster.json'
$result = 'FAILED (see above)'

Write-Host '== this host'
Facts | Write-Host
try {
    Write-Host "== warming JBang's cache"
    foreach ($step in 'up', 'kubeconfig', 'status', 'down') { jbang build "scripts/$step.java" | Out-Null }

    Write-Host '== k3s-up | k3s-kubeconfig --merge'
    $start = Get-Date
    # cmd's pipe passes bytes unchanged; PowerShell 5.1's would re-encode the JSON
    cmd /c "jbang k3s-up --login $login $($UpFlags -join ' ') | jbang k3s-kubeconfig --merge > `"$cluster`""
    if ($LASTEXITCODE -ne 0) { throw "k3s-up | k3s-kubeconfig failed (exit $LASTEXITCODE)" }
    $took = [int]((Get-Date) - $start).TotalSeconds
    kubectl get nodes -o wide

    $fail = $false
    foreach ($pair in @(@("${login}s", '192.168.56.110'), @("${login}sw", '192.168.56.111'))) {
        $ready = kubectl get node $pair[0] -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'
        $ip = kubectl get node $pair[0] -o 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}'
        if ($ready -eq 'True' -and $ip -eq $pair[1]) { "ok   $($pair[0]) Ready with INTERNAL-IP $ip" }
        else { "FAIL $($pair[0]): Ready=$ready INTERNAL-IP=$ip (want True, $($pair[1]))"; $fail = $true }
    }
    cmd /c "jbang k3s-status < `"$cluster`""
    if ($LASTEXITCODE -ne 0) { $fail = $true }
    if (-not $fail) { $result = "passed: Ready after $took s" }
} finally {
    if ($Keep) {
        Write-Host "kept: cluster folder $env:K3S_VAGRANT_HOME\clusters\$login, KUBECONFIG=$env:KUBECONFIG"
    } else {
        cmd /c "jbang k3s-down --name $login > NUL"
        if ($LASTEXITCODE -ne 0) { Write-Host "k3s-down failed: remove the machines in $env:K3S_VAGRANT_HOME by hand" }
        else { Remove-Item -Recurse -Force $work }
    }
    ''
    '---- k3s-vagrant host check: paste from here ----'
    Facts
    "k3s-up flags:  $(if ($UpFlags.Count) { $UpFlags -join ' ' } else { '(none)' })"
    "result:        $result"
    '---- to here ----'
}
if ($result -notlike 'passed*') { exit 1 }
