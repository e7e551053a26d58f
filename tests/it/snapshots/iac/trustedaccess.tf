# Trusted Access role bindings, written by `aks-trustedaccess export`.
# `terraform plan` imports each binding (import blocks); roles keep the service's order.

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
    }
  }
}

provider "azurerm" {
  alias           = "sub_00000000_0000_4000_8000_000000000001"
  subscription_id = "00000000-0000-4000-8000-000000000001"
  features {}
}

provider "azurerm" {
  alias           = "sub_00000001_0000_4000_8000_000000000002"
  subscription_id = "00000001-0000-4000-8000-000000000002"
  features {}
}

resource "azurerm_kubernetes_cluster_trusted_access_role_binding" "aks_0_0_binding_0" {
  provider              = azurerm.sub_00000000_0000_4000_8000_000000000001
  kubernetes_cluster_id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-0"
  name                  = "binding-0"
  source_resource_id    = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.MachineLearningServices/workspaces/ws-0-0"
  roles = [
    "Microsoft.MachineLearningServices/workspaces/mlworkload",
  ]
}

import {
  provider = azurerm.sub_00000000_0000_4000_8000_000000000001
  to       = azurerm_kubernetes_cluster_trusted_access_role_binding.aks_0_0_binding_0
  id       = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-0/trustedAccessRoleBindings/binding-0"
}

resource "azurerm_kubernetes_cluster_trusted_access_role_binding" "aks_0_1_binding_0" {
  provider              = azurerm.sub_00000000_0000_4000_8000_000000000001
  kubernetes_cluster_id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-1"
  name                  = "binding-0"
  source_resource_id    = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.MachineLearningServices/workspaces/ws-1-0"
  roles = [
    "Microsoft.MachineLearningServices/workspaces/mlworkload",
  ]
}

import {
  provider = azurerm.sub_00000000_0000_4000_8000_000000000001
  to       = azurerm_kubernetes_cluster_trusted_access_role_binding.aks_0_1_binding_0
  id       = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-1/trustedAccessRoleBindings/binding-0"
}

resource "azurerm_kubernetes_cluster_trusted_access_role_binding" "aks_1_0_binding_0" {
  provider              = azurerm.sub_00000001_0000_4000_8000_000000000002
  kubernetes_cluster_id = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.ContainerService/managedClusters/aks-1-0"
  name                  = "binding-0"
  source_resource_id    = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.MachineLearningServices/workspaces/ws-0-0"
  roles = [
    "Microsoft.MachineLearningServices/workspaces/mlworkload",
  ]
}

import {
  provider = azurerm.sub_00000001_0000_4000_8000_000000000002
  to       = azurerm_kubernetes_cluster_trusted_access_role_binding.aks_1_0_binding_0
  id       = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.ContainerService/managedClusters/aks-1-0/trustedAccessRoleBindings/binding-0"
}

resource "azurerm_kubernetes_cluster_trusted_access_role_binding" "aks_1_1_binding_0" {
  provider              = azurerm.sub_00000001_0000_4000_8000_000000000002
  kubernetes_cluster_id = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.ContainerService/managedClusters/aks-1-1"
  name                  = "binding-0"
  source_resource_id    = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1-0"
  roles = [
    "Microsoft.MachineLearningServices/workspaces/mlworkload",
    "Microsoft.MachineLearningServices/workspaces/inference-v1",
  ]
}

import {
  provider = azurerm.sub_00000001_0000_4000_8000_000000000002
  to       = azurerm_kubernetes_cluster_trusted_access_role_binding.aks_1_1_binding_0
  id       = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.ContainerService/managedClusters/aks-1-1/trustedAccessRoleBindings/binding-0"
}
