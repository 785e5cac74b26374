#!/bin/sh
# The official nginx image's template step: every $NGINX_ENVSUBST_TEMPLATE_DIR
# /*$NGINX_ENVSUBST_TEMPLATE_SUFFIX file is rendered by envsubst into
# $NGINX_ENVSUBST_OUTPUT_DIR (same relative path, suffix dropped),
# substituting only the environment variables whose names match
# NGINX_ENVSUBST_FILTER (all when unset), so nginx's own $variables stay.
set -e
template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
filter="${NGINX_ENVSUBST_FILTER:-}"

[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
  echo "$0: ERROR: $output_dir is not writable" >&2
  exit 0
fi

defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" < /dev/null))
find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
  relative_path="${template#"$template_dir/"}"
  output_path="$output_dir/${relative_path%"$suffix"}"
  subdir=$(dirname "$relative_path")
  mkdir -p "$output_dir/$subdir"
  echo "$0: running envsubst on $template to $output_path"
  envsubst "$defined_envs" < "$template" > "$output_path"
done
