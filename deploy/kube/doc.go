// Package kube tests the Helm chart (deploy/helm/sports-service) on a real
// Kubernetes cluster: the one .ci/kube.sh builds and starts (two nodes, each a
// kubelet, kube-proxy and containerd in its own network namespace, with
// routed pod networks), or any cluster KUBECONFIG names that has the images.
//
// The tests carry the build tag "kube", so `go test ./...` does not run them:
//
//	bash .ci/kube.sh test -- go test -tags kube -count=1 -timeout 30m -v ./deploy/kube/
//
// They read what .ci/kube.sh exports: KUBECONFIG, KUBECTL and HELM (else
// kubectl and helm on PATH), KUBE_APP_IMAGE (the service's image in the
// nodes), KUBE_IMAGE_TAGS (every image the nodes have), KUBE_SH (its
// tag-image command makes a "new version" for the rolling update),
// KUBE_NODES and KUBE_CONTAINERD_SOCKETS (to SIGKILL a container through its
// node's containerd), KUBE_STATE_DIR (the MongoDB volume's directory).
// Requests go from the host to the Service's ClusterIP, which the host routes
// to a node's kube-proxy, and to pod IPs (routed too). Without a cluster the
// tests skip, naming what is missing; with CI=true they fail.
//
// Each run installs the chart in a namespace of its own (Pod Security
// "restricted" enforced) and removes it at the end, also on failure.
package kube
