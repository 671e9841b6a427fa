-- Generated from emulator/graphql/schema.graphql by tools/gen-types.js (`make types`): do not edit.
--- The GraphQL types of the Embedded API: `objects[Type][field] = { type =, args = { name = type } }`,
-- `inputs[Input][field] = type`, `scalars[Name] = true`; types as GraphQL text ("ID!", "[AuthValue!]").
-- @internal tray.embedded.types
-- luacheck: no max line length

return {
  objects = {
    AuthSlot = {
      externalId = { type = "String" },
      title = { type = "String" },
    },
    AuthSlotValue = {
      authId = { type = "String" },
      externalId = { type = "String" },
    },
    Authentication = {
      customFields = { type = "Json" },
      id = { type = "ID!" },
      name = { type = "String" },
      service = { type = "Service" },
      serviceEnvironment = { type = "ServiceEnvironment" },
    },
    AuthenticationConnection = {
      edges = { type = "[AuthenticationEdge]" },
      pageInfo = { type = "PageInfo!" },
    },
    AuthenticationEdge = {
      node = { type = "Authentication" },
    },
    AuthorizePayload = {
      accessToken = { type = "String" },
      clientMutationId = { type = "String" },
    },
    ConfigSlot = {
      defaultValue = { type = "String" },
      externalId = { type = "String" },
      title = { type = "String" },
    },
    ConfigSlotValue = {
      externalId = { type = "String" },
      value = { type = "Json" },
    },
    ConnectorCallPayload = {
      clientMutationId = { type = "String" },
      output = { type = "Json!" },
    },
    CreateExternalUserPayload = {
      clientMutationId = { type = "String" },
      isTestUser = { type = "Boolean" },
      userId = { type = "ID" },
    },
    CreateSolutionInstancePayload = {
      clientMutationId = { type = "String" },
      solutionInstance = { type = "SolutionInstance" },
    },
    CreateUserAuthenticationPayload = {
      authenticationId = { type = "String!" },
      clientMutationId = { type = "String" },
    },
    CustomField = {
      key = { type = "String" },
      value = { type = "String" },
    },
    ExportProjectPayload = {
      clientMutationId = { type = "String" },
      exportedProjectJson = { type = "String" },
    },
    ExportWorkflowsPayload = {
      clientMutationId = { type = "String" },
      exportedWorkflowsJson = { type = "String" },
    },
    GenerateAuthorizationCodePayload = {
      authorizationCode = { type = "String" },
      clientMutationId = { type = "String" },
    },
    ImportProjectPayload = {
      clientMutationId = { type = "String" },
    },
    ImportWorkflowsPayload = {
      clientMutationId = { type = "String" },
    },
    Mutation = {
      authorize = { type = "AuthorizePayload", args = { input = "AuthorizeInput!" } },
      callConnector = { type = "ConnectorCallPayload", args = { input = "ConnectorCallInput!" } },
      createExternalUser = { type = "CreateExternalUserPayload", args = { input = "CreateExternalUserInput!" } },
      createSolutionInstance = { type = "CreateSolutionInstancePayload", args = { input = "CreateSolutionInstanceInput!" } },
      createUserAuthentication = { type = "CreateUserAuthenticationPayload", args = { input = "CreateUserAuthenticationInput!" } },
      exportProject = { type = "ExportProjectPayload", args = { input = "ExportProjectInput!" } },
      exportWorkflows = { type = "ExportWorkflowsPayload", args = { input = "ExportWorkflowsInput!" } },
      generateAuthorizationCode = { type = "GenerateAuthorizationCodePayload", args = { input = "GenerateAuthorizationCodeInput!" } },
      importProject = { type = "ImportProjectPayload", args = { input = "ImportProjectInput!" } },
      importWorkflows = { type = "ImportWorkflowsPayload", args = { input = "ImportWorkflowsInput!" } },
      removeAuthentication = { type = "RemoveUserAuthenticationPayload", args = { input = "RemoveUserAuthenticationInput!" } },
      removeExternalUser = { type = "RemoveExternalUserPayload", args = { input = "RemoveExternalUserInput!" } },
      removeSolutionInstance = { type = "RemoveSolutionInstancePayload", args = { input = "RemoveSolutionInstanceInput!" } },
      updateExternalUser = { type = "UpdateExternalUserPayload", args = { input = "UpdateExternalUserInput!" } },
      updateSolutionInstance = { type = "UpdateSolutionInstancePayload", args = { input = "UpdateSolutionInstanceInput!" } },
      upgradeSolutionInstance = { type = "UpgradeSolutionInstancePayload", args = { input = "UpgradeSolutionInstanceInput!" } },
    },
    PageInfo = {
      endCursor = { type = "String" },
      hasNextPage = { type = "Boolean!" },
      hasPreviousPage = { type = "Boolean!" },
      startCursor = { type = "String" },
    },
    Query = {
      users = { type = "UserConnection", args = { after = "String", before = "String", criteria = "UserSearchCriteria", first = "Int", last = "Int" } },
      viewer = { type = "Viewer" },
    },
    RemoveExternalUserPayload = {
      clientMutationId = { type = "String" },
    },
    RemoveSolutionInstancePayload = {
      clientMutationId = { type = "String" },
    },
    RemoveUserAuthenticationPayload = {
      clientMutationId = { type = "String" },
    },
    Service = {
      icon = { type = "String" },
      id = { type = "ID!" },
      name = { type = "String" },
      title = { type = "String" },
      version = { type = "String" },
    },
    ServiceEnvironment = {
      id = { type = "ID!" },
      title = { type = "String" },
    },
    Solution = {
      authSlots = { type = "[AuthSlot]" },
      configSlots = { type = "[ConfigSlot]" },
      customFields = { type = "[CustomField]" },
      description = { type = "String" },
      id = { type = "ID!" },
      tags = { type = "[String]" },
      title = { type = "String" },
    },
    SolutionConnection = {
      edges = { type = "[SolutionEdge]" },
      pageInfo = { type = "PageInfo!" },
    },
    SolutionEdge = {
      cursor = { type = "String!" },
      node = { type = "Solution" },
    },
    SolutionInstance = {
      authValues = { type = "[AuthSlotValue]" },
      configValues = { type = "[ConfigSlotValue]" },
      created = { type = "String" },
      enabled = { type = "Boolean" },
      id = { type = "ID!" },
      name = { type = "String" },
      owner = { type = "String" },
      solution = { type = "Solution" },
      solutionVersionFlags = { type = "SolutionVersionFlags" },
      workflows = { type = "SolutionInstanceWorkflowConnection" },
    },
    SolutionInstanceConnection = {
      edges = { type = "[SolutionInstanceEdge]" },
      pageInfo = { type = "PageInfo!" },
      totalCount = { type = "Int!" },
    },
    SolutionInstanceEdge = {
      cursor = { type = "String!" },
      node = { type = "SolutionInstance" },
    },
    SolutionInstanceWorkflow = {
      id = { type = "ID!" },
      sourceWorkflowId = { type = "ID" },
      sourceWorkflowName = { type = "String" },
      triggerUrl = { type = "String" },
    },
    SolutionInstanceWorkflowConnection = {
      edges = { type = "[SolutionInstanceWorkflowEdge]" },
      pageInfo = { type = "PageInfo" },
    },
    SolutionInstanceWorkflowEdge = {
      node = { type = "SolutionInstanceWorkflow" },
    },
    SolutionVersionFlags = {
      hasNewerVersion = { type = "Boolean" },
      requiresSystemInputToUpdateVersion = { type = "Boolean" },
      requiresUserInputToUpdateVersion = { type = "Boolean" },
    },
    UpdateExternalUserPayload = {
      clientMutationId = { type = "String" },
      user = { type = "User" },
    },
    UpdateSolutionInstancePayload = {
      clientMutationId = { type = "String" },
      solutionInstance = { type = "SolutionInstance" },
    },
    UpgradeSolutionInstancePayload = {
      clientMutationId = { type = "String" },
      solutionInstance = { type = "SolutionInstance" },
    },
    User = {
      externalUserId = { type = "String" },
      id = { type = "ID!" },
      isTestUser = { type = "Boolean" },
      name = { type = "String" },
    },
    UserConnection = {
      edges = { type = "[UserEdge]" },
      pageInfo = { type = "PageInfo!" },
    },
    UserEdge = {
      cursor = { type = "String!" },
      node = { type = "User" },
    },
    Viewer = {
      authentications = { type = "AuthenticationConnection" },
      details = { type = "ViewerDetails" },
      solutionInstances = { type = "SolutionInstanceConnection", args = { after = "String", before = "String", criteria = "SolutionInstanceSearchCriteria", first = "Int", last = "Int" } },
      solutions = { type = "SolutionConnection", args = { after = "String", before = "String", criteria = "SolutionSearchCriteria", first = "Int", last = "Int" } },
    },
    ViewerDetails = {
      email = { type = "String" },
      name = { type = "String" },
      username = { type = "String" },
    },
  },
  inputs = {
    AuthValue = {
      authId = "String!",
      externalId = "String!",
    },
    AuthorizeInput = {
      clientMutationId = "String",
      userId = "ID!",
    },
    ConfigValue = {
      externalId = "String!",
      value = "Json",
    },
    ConnectorCallInput = {
      authId = "String",
      clientMutationId = "String",
      connector = "String!",
      input = "Json!",
      operation = "String!",
      version = "String!",
    },
    CreateExternalUserInput = {
      clientMutationId = "String",
      externalUserId = "String!",
      isTestUser = "Boolean",
      name = "String!",
    },
    CreateSolutionInstanceInput = {
      authValues = "[AuthValue!]",
      clientMutationId = "String",
      configValues = "[ConfigValue!]",
      instanceName = "String!",
      solutionId = "ID!",
    },
    CreateUserAuthenticationInput = {
      clientMutationId = "String",
      data = "Json!",
      formData = "Json",
      hidden = "Boolean",
      name = "String!",
      scopes = "[String!]",
      serviceEnvironmentId = "String!",
      serviceId = "String!",
    },
    ExportProjectInput = {
      clientMutationId = "String",
      exportSolution = "Boolean!",
      projectId = "ID!",
    },
    ExportWorkflowsInput = {
      clientMutationId = "String",
      workflowIds = "[ID!]!",
    },
    GenerateAuthorizationCodeInput = {
      clientMutationId = "String",
      userId = "ID!",
    },
    ImportProjectInput = {
      clientMutationId = "String",
      exportedProjectJson = "String!",
      targetProjectId = "ID!",
    },
    ImportWorkflowsInput = {
      clientMutationId = "String",
      exportedWorkflowsJson = "String!",
      targetWorkflowIds = "[ID!]!",
    },
    RemoveExternalUserInput = {
      clientMutationId = "String",
      userId = "ID!",
    },
    RemoveSolutionInstanceInput = {
      clientMutationId = "String",
      solutionInstanceId = "ID!",
    },
    RemoveUserAuthenticationInput = {
      authenticationId = "ID!",
      clientMutationId = "String",
    },
    SolutionInstanceSearchCriteria = {
      id = "String",
      name = "String",
      owner = "String",
      solutionId = "String",
    },
    SolutionSearchCriteria = {
      tags = "[String!]",
    },
    UpdateExternalUserInput = {
      clientMutationId = "String",
      isTestUser = "Boolean",
      userId = "ID!",
    },
    UpdateSolutionInstanceInput = {
      authValues = "[AuthValue!]",
      clientMutationId = "String",
      configValues = "[ConfigValue!]",
      enabled = "Boolean",
      errorOnEnablingWithMissingValues = "Boolean",
      instanceName = "String",
      solutionInstanceId = "ID!",
    },
    UpgradeSolutionInstanceInput = {
      authValues = "[AuthValue!]",
      clientMutationId = "String",
      configValues = "[ConfigValue!]",
      solutionInstanceId = "ID!",
    },
    UserSearchCriteria = {
      externalUserId = "String",
      isTestUser = "Boolean",
      name = "String",
      userId = "String",
    },
  },
  scalars = { Boolean = true, ID = true, Int = true, Json = true, String = true },
  roots = { query = "Query", mutation = "Mutation" },
}
