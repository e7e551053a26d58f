// Subscription 00000001-0000-4000-8000-000000000002, resource group rg-fleet-1.

resource cluster_aks_1_0 'Microsoft.ContainerService/managedClusters@2026-08-01' existing = {
  name: 'aks-1-0'
}

resource cluster_aks_1_1 'Microsoft.ContainerService/managedClusters@2026-08-01' existing = {
  name: 'aks-1-1'
}

resource binding_aks_1_0_binding_0 'Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01' = {
  parent: cluster_aks_1_0
  name: 'binding-0'
  properties: {
    sourceResourceId: '/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.MachineLearningServices/workspaces/ws-0-0'
    roles: [
      'Microsoft.MachineLearningServices/workspaces/mlworkload'
    ]
  }
}

resource binding_aks_1_1_binding_0 'Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01' = {
  parent: cluster_aks_1_1
  name: 'binding-0'
  properties: {
    sourceResourceId: '/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1-0'
    roles: [
      'Microsoft.MachineLearningServices/workspaces/mlworkload'
      'Microsoft.MachineLearningServices/workspaces/inference-v1'
    ]
  }
}
