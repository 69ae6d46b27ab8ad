"""Kaito on Kubernetes: kubeconfig, discovery of workspaces, and how the kernel reaches them."""
