# Trusted Access role bindings, written by `aks-trustedaccess export`.
# `terraform plan` imports each binding (import blocks); roles keep the service's order.

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    azapi = {
      source  = "Azure/azapi"
      version = ">= 2.0"
    }
  }
}

provider "azapi" {}

resource "azapi_resource" "aks_0_0_binding_0" {
  type      = "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01"
  parent_id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-0"
  name      = "binding-0"
  body = {
    properties = {
      sourceResourceId = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.MachineLearningServices/workspaces/ws-0-0"
      roles = [
        "Microsoft.MachineLearningServices/workspaces/mlworkload",
      ]
    }
  }
}

import {
  to = azapi_resource.aks_0_0_binding_0
  id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-0/trustedAccessRoleBindings/binding-0"
}

resource "azapi_resource" "aks_0_0_defender_containers" {
  type      = "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01"
  parent_id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-0"
  name      = "defender-containers"
  body = {
    properties = {
      sourceResourceId = "/subscriptions/00000000-0000-4000-8000-000000000001/providers/Microsoft.Security/pricings/containers"
      roles = [
        "Microsoft.Security/pricings/microsoft-defender-operator",
      ]
    }
  }
}

import {
  to = azapi_resource.aks_0_0_defender_containers
  id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-0/trustedAccessRoleBindings/defender-containers"
}

resource "azapi_resource" "aks_0_1_binding_0" {
  type      = "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01"
  parent_id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-1"
  name      = "binding-0"
  body = {
    properties = {
      sourceResourceId = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.MachineLearningServices/workspaces/ws-1-0"
      roles = [
        "Microsoft.MachineLearningServices/workspaces/mlworkload",
      ]
    }
  }
}

import {
  to = azapi_resource.aks_0_1_binding_0
  id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-1/trustedAccessRoleBindings/binding-0"
}

resource "azapi_resource" "aks_1_0_binding_0" {
  type      = "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01"
  parent_id = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.ContainerService/managedClusters/aks-1-0"
  name      = "binding-0"
  body = {
    properties = {
      sourceResourceId = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.MachineLearningServices/workspaces/ws-0-0"
      roles = [
        "Microsoft.MachineLearningServices/workspaces/mlworkload",
      ]
    }
  }
}

import {
  to = azapi_resource.aks_1_0_binding_0
  id = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.ContainerService/managedClusters/aks-1-0/trustedAccessRoleBindings/binding-0"
}

resource "azapi_resource" "aks_1_1_binding_0" {
  type      = "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01"
  parent_id = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.ContainerService/managedClusters/aks-1-1"
  name      = "binding-0"
  body = {
    properties = {
      sourceResourceId = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1-0"
      roles = [
        "Microsoft.MachineLearningServices/workspaces/mlworkload",
        "Microsoft.MachineLearningServices/workspaces/inference-v1",
      ]
    }
  }
}

import {
  to = azapi_resource.aks_1_1_binding_0
  id = "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.ContainerService/managedClusters/aks-1-1/trustedAccessRoleBindings/binding-0"
}
