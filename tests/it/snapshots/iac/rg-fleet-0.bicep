// Subscription 00000000-0000-4000-8000-000000000001, resource group rg-fleet-0.

resource cluster_aks_0_0 'Microsoft.ContainerService/managedClusters@2026-08-01' existing = {
  name: 'aks-0-0'
}

resource cluster_aks_0_1 'Microsoft.ContainerService/managedClusters@2026-08-01' existing = {
  name: 'aks-0-1'
}

resource binding_aks_0_0_binding_0 'Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01' = {
  parent: cluster_aks_0_0
  name: 'binding-0'
  properties: {
    sourceResourceId: '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.MachineLearningServices/workspaces/ws-0-0'
    roles: [
      'Microsoft.MachineLearningServices/workspaces/mlworkload'
    ]
  }
}

resource binding_aks_0_1_binding_0 'Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings@2026-08-01' = {
  parent: cluster_aks_0_1
  name: 'binding-0'
  properties: {
    sourceResourceId: '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.MachineLearningServices/workspaces/ws-1-0'
    roles: [
      'Microsoft.MachineLearningServices/workspaces/mlworkload'
    ]
  }
}
