#!/usr/bin/env bash
# Deploy a packaged stage with the AWS CLI: upload the package, then create or update the stack.
#
#   infra/deploy.sh <stage> <artifact-bucket> [ParameterKey=Value ...]
#
# Run `make package STAGE=<stage>` first. The artifact bucket is any S3 bucket of yours in the
# stack's region (it holds packages and templates, not user data). Extra arguments are passed on as
# CloudFormation parameter overrides, e.g. AlarmEmail=ops@example.org ReserveConcurrency=false.
# The AWS CLI's usual settings apply (AWS_PROFILE, AWS_REGION).
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
stage=$1
bucket=$2
shift 2

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build/$stage}
template=$build_dir/template.json
package=$build_dir/deployment.zip
if [[ ! -f $template || ! -f $package ]]; then
  echo "no package for stage $stage in $build_dir: run 'make package STAGE=$stage' first" >&2
  exit 1
fi

read_metadata() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["Metadata"]["Weilinli"][sys.argv[2]])' \
    "$template" "$1"
}
packaged_stage=$(read_metadata Stage)
if [[ $packaged_stage != "$stage" ]]; then
  echo "$template was packaged for stage $packaged_stage, not $stage" >&2
  exit 1
fi
stack=$(read_metadata StackName)
key=$(read_metadata ArtifactKey)

# The key carries the package's hash: an unchanged package is not uploaded again and updates no
# function.
if aws s3api head-object --bucket "$bucket" --key "$key" >/dev/null 2>&1; then
  echo "s3://$bucket/$key is already there"
else
  aws s3 cp "$package" "s3://$bucket/$key"
fi

aws cloudformation deploy \
  --stack-name "$stack" \
  --template-file "$template" \
  --s3-bucket "$bucket" \
  --s3-prefix "${key%/*}/templates" \
  --capabilities CAPABILITY_NAMED_IAM \
  --no-fail-on-empty-changeset \
  --parameter-overrides "ArtifactBucket=$bucket" "ArtifactKey=$key" "$@"

aws cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].Outputs' --output table
