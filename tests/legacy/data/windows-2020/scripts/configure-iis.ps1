Install-WindowsFeature -Name Web-Server -IncludeManagementTools
