#!/usr/bin/env bash
# From a fresh clone of this repository's HEAD: `dotnet pack -c Release -o artifacts`, then install the tool into a
# tool path and run `loom`, then build and run the README's C# quick start against the packed Loom package, with an
# isolated NuGet cache. Minutes (a full Release build); not part of CI, which runs tests/Loom.Tests/Packaging instead
# (the same checks on the Debug binaries of the test run, without a second build).
#   tests/long/pack-clean-clone.sh [WORKDIR]      (default: a new folder under /tmp, kept for inspection)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$(mktemp -d /tmp/loom-clean-clone.XXXXXX)}"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDDISABLENODEREUSE=1
feed="${NUGET_PACKAGES:-$HOME/.nuget/packages}"   # the machine's cache, read as an offline feed for the dependencies

echo "== clone $repo (HEAD $(git -C "$repo" rev-parse --short HEAD)) into $work/clone"
git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
time dotnet pack -c Release -o "$work/clone/artifacts" --disable-build-servers
ls -l artifacts

cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><clear /><add key="loom" value="$work/clone/artifacts" /><add key="machine-cache" value="$feed" /></packageSources>
  <packageSourceMapping>
    <packageSource key="loom"><package pattern="Loom" /><package pattern="Loom.*" /></packageSource>
    <packageSource key="machine-cache"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML

export NUGET_PACKAGES="$work/packages"             # the consumers' own cache: nothing stale from earlier installs
echo "== dotnet tool install Loom.Tool"
cd "$work"
dotnet tool install Loom.Tool --tool-path "$work/tools"
"$work/tools/loom" shape conv2d --input 1x21x12 --kernel 4x5 --stride 4 --explain
"$work/tools/loom" train --data digits --model mlp --epochs 1 --seed 1 --out "$work/run" --json | tail -n 3

echo "== the README's C# quick start against the package"
version=$(ls "$work/clone/artifacts" | sed -n 's/^Loom\.\([0-9][^A-Za-z]*\)\.nupkg$/\1/p' | head -n 1)
mkdir -p "$work/quickstart"
awk '/^## C# quick start/{s=1} s&&/^```csharp/{c=1;next} c&&/^```/{exit} c' "$repo/README.md" > "$work/quickstart/Program.cs"
cat > "$work/quickstart/QuickStart.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable><TreatWarningsAsErrors>true</TreatWarningsAsErrors></PropertyGroup>
  <ItemGroup><PackageReference Include="Loom" Version="[$version]" /></ItemGroup>
</Project>
XML
cd "$work/quickstart"
dotnet run -c Release --disable-build-servers
echo "== done: $work"
